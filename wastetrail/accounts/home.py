"""What each role sees first: the sections of its home page, decided from the actor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Membership, OrganisationKind, Role
from wastetrail.accounts.policy import Actor


@dataclass(frozen=True)
class HomeLink:
    label: str
    url_name: str
    hint: str = ""
    # Shown only to the memberships this accepts (None: every membership of the section).
    only: Callable[[Membership], bool] | None = None
    short: str = ""  # the top bar's label, where the home page's is too long for it

    @property
    def url(self) -> str:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:  # an app not installed in this deployment
            return ""


ORGANISATIONS = HomeLink(_("Organisations"), "organisations-list", _("Parties registered on the platform"))
PROJECTS = HomeLink(_("Construction projects"), "projects-list", _("Where waste is produced"), short=_("Projects"))
SITES = HomeLink(_("Receiving sites"), "sites-list", _("Disposal, recycling, transfer and backfill sites"),
                 short=_("Sites"))
VEHICLES = HomeLink(_("Vehicles"), "vehicles-list", _("Muck trucks, their seals and terminals"))
DRIVERS = HomeLink(_("Drivers"), "drivers-list", _("People who drive the trucks"))
PLANS = HomeLink(_("Handling plans"), "plans-list", _("Filed plans and their versions"))
APPROVALS = HomeLink(_("Approvals"), "approvals-list", _("Emission, transport and disposal approvals"))
REVIEW_QUEUE = HomeLink(_("Review queue"), "approvals-queue", _("Applications by deadline"))
MAP = HomeLink(_("Map"), "map", _("Districts, projects and sites on one map"))
RULEBOOK = HomeLink(_("Rulebook"), "rulebook", _("Categories, violations, deadlines and the calendar"))
MANIFESTS = HomeLink(_("Manifests"), "manifests-list", _("Every truck load, from source to destination"))
ISSUE = HomeLink(_("Issue a manifest"), "manifests-create", _("One truck load leaving a project"))
FIND_MANIFEST = HomeLink(_("Find a manifest"), "manifests-find", _("Scan or type the number at the gate"))
DRIVER = HomeLink(_("My trips"), "manifests-driver", _("The open manifest, its QR code and the sign button"))
LEDGERS = HomeLink(_("Ledgers"), "ledgers", _("Manifest ledgers as Excel and CSV"))
RECONCILIATION = HomeLink(_("Reconciliation"), "reconciliation", _("Planned, issued and received quantities"))
LIVE_MAP = HomeLink(_("Live map"), "live-map", _("Where the trucks are now, and their tracks"))
TERMINAL_STATUS = HomeLink(_("Terminal status"), "terminal-status", _("Which terminals are online, their last errors"))
STACKING_POINTS = HomeLink(_("Stacking points"), "stacking-points-list", _("Decoration-waste stacking points"))
STACKING_MAP = HomeLink(_("Stacking point map"), "stacking-map", _("Which points are full, and where"))
STACKING_AREAS = HomeLink(_("Residential areas"), "stacking-areas-list", _("Areas and who runs their points"))
COLLECTIONS = HomeLink(_("Collection requests"), "stacking-collections", _("Full stacking points to collect"),
                       short=_("Collections"))
WORKORDERS = HomeLink(_("Work orders"), "complaints:queue", _("12345 and other complaints, by deadline"))
NEW_WORKORDER = HomeLink(_("Record a work order"), "complaints:new", _("Received by phone, letter, visit or 12345"))
WORKORDER_MAP = HomeLink(_("Work-order map"), "complaints:map", _("Open work orders where they happened"))
WORKORDER_STATS = HomeLink(_("Work-order statistics"), "complaints:stats",
                           _("On-time rate, handling days and satisfaction per unit and month"))


def _admin(membership: Membership) -> bool:
    return membership.role == Role.ADMIN


def _city_admin(membership: Membership) -> bool:
    return membership.role == Role.ADMIN and membership.organisation.district is None


EXTENSION_DECISIONS = HomeLink(_("Extension requests"), "complaints:extensions",
                               _("Work orders whose units ask for more time"), only=_admin)
ROUTING_TABLE = HomeLink(_("Routing table"), "complaints:routing-rules-list",
                         _("Which unit answers which district's work orders"), only=_city_admin)
WORKORDER_CATEGORIES = HomeLink(_("Work-order categories"), "complaints:categories-list",
                                _("What work orders are about, and the 12345 codes"), only=_city_admin)
AUDIT = HomeLink(_("Audit trail"), "audit", _("Every change of state, hash-chained"))

SECTIONS_BY_KIND: dict[str, tuple[str, list[HomeLink]]] = {
    OrganisationKind.REGULATOR: (
        _("Supervision"),
        [MAP, LIVE_MAP, TERMINAL_STATUS, REVIEW_QUEUE, MANIFESTS, RECONCILIATION, LEDGERS, APPROVALS, PLANS,
         PROJECTS, SITES, VEHICLES, DRIVERS, ORGANISATIONS, RULEBOOK, AUDIT, STACKING_POINTS,
         STACKING_MAP, STACKING_AREAS, WORKORDERS, NEW_WORKORDER, WORKORDER_MAP, WORKORDER_STATS,
         EXTENSION_DECISIONS, ROUTING_TABLE, WORKORDER_CATEGORIES],
    ),
    OrganisationKind.CONSTRUCTION_UNIT: (_("My projects"), [ISSUE, MANIFESTS, PROJECTS, PLANS, APPROVALS,
                                                             RECONCILIATION, LEDGERS, SITES, MAP, ORGANISATIONS]),
    OrganisationKind.DEVELOPER: (_("My projects"), [PROJECTS, PLANS, SITES, MAP, ORGANISATIONS]),
    OrganisationKind.TRANSPORT_COMPANY: (_("My fleet"), [MANIFESTS, COLLECTIONS, LIVE_MAP, TERMINAL_STATUS, VEHICLES,
                                                         DRIVERS, APPROVALS, LEDGERS, SITES, MAP, ORGANISATIONS]),
    OrganisationKind.SITE_OPERATOR: (_("My sites"), [FIND_MANIFEST, MANIFESTS, SITES, APPROVALS, LEDGERS, MAP,
                                                      ORGANISATIONS]),
    OrganisationKind.PROPERTY_MANAGER: (
        _("Decoration waste"),
        [STACKING_POINTS, STACKING_MAP, COLLECTIONS, STACKING_AREAS, MANIFESTS, MAP, SITES, ORGANISATIONS,
         WORKORDERS, WORKORDER_STATS],
    ),
    OrganisationKind.STREET_OFFICE: (
        _("Decoration waste"),
        [STACKING_POINTS, STACKING_MAP, STACKING_AREAS, COLLECTIONS, MANIFESTS, MAP, SITES, ORGANISATIONS,
         WORKORDERS, WORKORDER_STATS],
    ),
    OrganisationKind.HOUSING_AUTHORITY: (
        _("Property managers"),
        [STACKING_POINTS, STACKING_MAP, STACKING_AREAS, ORGANISATIONS, MAP, SITES, WORKORDERS, WORKORDER_STATS],
    ),
    OrganisationKind.HOTLINE: (_("12345 hotline"), [WORKORDERS, NEW_WORKORDER, ORGANISATIONS]),
}
DRIVER_SECTION = (_("My trips"), [DRIVER, VEHICLES, SITES, MAP])


# The top bar: the everyday pages, in this order, each shown only to those whose home page has it,
# so a driver is not offered the reconciliation and a property manager sees its stacking points.
# Everything else stays one click away on the home page.
NAV_ORDER = [MAP, LIVE_MAP, DRIVER, FIND_MANIFEST, ISSUE, REVIEW_QUEUE, MANIFESTS, PROJECTS, PLANS, APPROVALS,
             SITES, VEHICLES, STACKING_POINTS, COLLECTIONS, WORKORDERS, RECONCILIATION, RULEBOOK]


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def nav_links(actor: Actor, path: str = "") -> list[NavLink]:
    """The actor's top-bar links; the one whose address is the longest start of `path` is current."""
    offered = {link.url_name for _, _, links in home_sections(actor) for link in links}
    shown = [link for link in NAV_ORDER if link.url_name in offered]
    matching = [link.url for link in shown if path.startswith(link.url) and link.url != "/"]
    current = max(matching, key=len, default=None)
    return [NavLink(str(link.short or link.label), link.url, link.url == current) for link in shown]


def home_sections(actor: Actor) -> list[tuple[str, str, list[HomeLink]]]:
    """One section per membership: (organisation name, section title, links)."""
    sections = []
    for membership in actor.memberships:
        if membership.role == Role.DRIVER:
            title, links = DRIVER_SECTION
        else:
            title, links = SECTIONS_BY_KIND[membership.organisation.kind]
        shown = [link for link in links if link.url and (link.only is None or link.only(membership))]
        sections.append((membership.organisation.name, title, shown))
    return sections
