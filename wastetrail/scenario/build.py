"""Build the demo scenario through the same services the pages and API use.

Everything derives from one `random.Random(seed)`, in a fixed order, so the same seed always gives
the same city: the same companies, projects, sites, trucks and drivers.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from wastetrail.accounts import services as accounts
from wastetrail.accounts.models import Organisation, OrganisationKind, Role
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.districts import DISTRICT_NAMES
from wastetrail.scenario import places
from wastetrail.testing import make_uscc

DEMO_PASSWORD = "Demo-pass-2026"
DISCARD_SMS = "wastetrail.scenario.build.DiscardSms"


class DiscardSms:
    """The SMS backend while the demo is built (see wastetrail/core/sms.py)."""

    def send(self, phone: str, text: str) -> None:
        pass
DISTRICTS = list(DISTRICT_NAMES)


@dataclass
class Login:
    username: str
    role: str
    organisation: str


@dataclass
class Scenario:
    seed: int
    logins: list[Login] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    manifest_statuses: dict[str, int] = field(default_factory=dict)
    workorder_statuses: dict[str, int] = field(default_factory=dict)


class ScenarioBuilder:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.scenario = Scenario(seed=seed)
        self._uscc_serial = seed * 1000
        self._phone_serial = 0
        self._usernames: set[str] = set()

    # --- small generators -------------------------------------------------------------------
    def uscc(self, district: int, *, government: bool = False) -> str:
        self._uscc_serial += 1
        return make_uscc(self._uscc_serial, district=district, government=government)

    def phone(self) -> str:
        self._phone_serial += 1
        return f"13{self.rng.randint(5, 9)}{self.rng.randint(0, 9999):04d}{self._phone_serial % 10000:04d}"

    def person_name(self) -> str:
        return self.rng.choice(places.SURNAMES) + self.rng.choice(places.GIVEN)

    def address(self, district: int) -> str:
        town = self.rng.choice(places.TOWNS[district])
        road = self.rng.choice(places.ROADS)
        return f"江门市{DISTRICT_NAMES[district][0]}{town}{road}{self.rng.randint(1, 399)}号"

    def company_name(self, district: int, suffix: str) -> str:
        # Companies in the urban districts register as 江门市…; the county-level cities use their own name.
        name = DISTRICT_NAMES[district][0]
        city = name if name.endswith("市") else "江门市"
        return f"{city}{self.rng.choice(places.COMPANY_STEMS)}{suffix}"

    # --- organisations and people -----------------------------------------------------------
    def organisation(self, admin: Actor, *, name: str, kind: str, district: int | None,
                     government: bool = False) -> Organisation:
        base, n = name, 1
        while Organisation.objects.filter(name=name).exists():
            n += 1
            name = f"{base}（{n}）"
        return accounts.organisation_create(
            actor=admin, name=name, kind=kind, district=district,
            uscc=self.uscc(district or 440700, government=government),
            address=self.address(district or 440703), contact_name=self.person_name(),
            contact_phone=self.phone(),
        )

    def user(self, admin: Actor | None, *, username: str, organisation: Organisation, role: str,
             listed: bool = True):
        base, n = username, 1
        while username in self._usernames:
            n += 1
            username = f"{base}{n}"
        self._usernames.add(username)
        user = accounts.user_create(
            actor=admin, username=username, password=DEMO_PASSWORD, organisation=organisation,
            role=role, display_name=self.person_name(), phone=self.phone(),
        )
        if listed:
            self.scenario.logins.append(Login(username, Role(role).label, organisation.name))
        return user

    def build_parties(self) -> dict[str, list[Organisation]]:
        regulator = accounts.organisation_bootstrap(
            name="江门市城市管理和综合执法局", uscc=self.uscc(440700, government=True),
            admin_username="admin", admin_password=DEMO_PASSWORD, admin_display_name="平台管理员",
        )
        self._usernames.add("admin")
        self.scenario.logins.append(Login("admin", Role.ADMIN.label, regulator.name))
        from wastetrail.accounts.models import User

        admin = actor_for(User.objects.get(username="admin"))
        self.admin = admin
        parties: dict[str, list[Organisation]] = {"regulator": [regulator]}
        self.user(admin, username="inspector", organisation=regulator, role=Role.STAFF)

        parties["district_regulators"] = []
        for adcode in DISTRICTS:
            bureau = self.organisation(
                admin, name=f"江门市{DISTRICT_NAMES[adcode][0]}城市管理和综合执法局",
                kind=OrganisationKind.REGULATOR, district=adcode, government=True,
            )
            parties["district_regulators"].append(bureau)
            self.user(admin, username=f"bureau{adcode}", organisation=bureau, role=Role.STAFF,
                      listed=adcode == 440703)

        def companies(key: str, kind: str, count: int, suffix: str, username: str) -> None:
            parties[key] = []
            for i in range(count):
                district = DISTRICTS[i % len(DISTRICTS)] if i < len(DISTRICTS) else self.rng.choice(DISTRICTS)
                organisation = self.organisation(
                    admin, name=self.company_name(district, suffix), kind=kind, district=district
                )
                parties[key].append(organisation)
                self.user(admin, username=f"{username}{i + 1}", organisation=organisation,
                          role=Role.ADMIN, listed=i == 0)

        companies("developers", OrganisationKind.DEVELOPER, 8, "房地产开发有限公司", "developer")
        companies("construction_units", OrganisationKind.CONSTRUCTION_UNIT, 14, "建筑工程有限公司", "builder")
        companies("transport_companies", OrganisationKind.TRANSPORT_COMPANY, 8, "渣土运输有限公司", "hauler")
        companies("site_operators", OrganisationKind.SITE_OPERATOR, 6, "建筑废弃物处置有限公司", "siteop")
        companies("property_managers", OrganisationKind.PROPERTY_MANAGER, 7, "物业服务有限公司", "property")

        parties["street_offices"] = []
        for i, adcode in enumerate(DISTRICTS):
            town = places.TOWNS[adcode][0]
            office = self.organisation(
                admin, name=f"{DISTRICT_NAMES[adcode][0]}{town}{'办事处' if town.endswith('街道') else '人民政府'}",
                kind=OrganisationKind.STREET_OFFICE, district=adcode, government=True,
            )
            parties["street_offices"].append(office)
            self.user(admin, username=f"street{i + 1}", organisation=office, role=Role.STAFF, listed=i == 0)

        housing = self.organisation(admin, name="江门市住房和城乡建设局",
                                    kind=OrganisationKind.HOUSING_AUTHORITY, district=None, government=True)
        parties["housing_authority"] = [housing]
        self.user(admin, username="housing", organisation=housing, role=Role.STAFF)
        hotline = self.organisation(admin, name="江门市12345政务服务便民热线",
                                    kind=OrganisationKind.HOTLINE, district=None, government=True)
        parties["hotline"] = [hotline]
        self.user(admin, username="hotline", organisation=hotline, role=Role.STAFF)
        return parties


def build_scenario(*, seed: int, now: dt.datetime | None = None, loads: bool = True) -> Scenario:
    """Build the whole demo. ``now``: the moment the loads of the past weeks lead up to (default:
    the real now); the same seed and ``now`` give the same scenario. ``loads=False`` leaves out the
    manifests (the slow part), for tests about the rest."""
    builder = ScenarioBuilder(seed)
    # The demo's complainants are made up: their texts (sent when the build commits) go nowhere.
    with override_settings(SMS_BACKEND=DISCARD_SMS), transaction.atomic():
        parties = builder.build_parties()
        from wastetrail.core.rulebook.models import WasteCategory
        from wastetrail.scenario.loads import build_loads, manifest_status_counts
        from wastetrail.scenario.paperwork import build_paperwork, suspend_pending
        from wastetrail.scenario.public import build_public, workorder_status_counts
        from wastetrail.scenario.registry import build_registry

        builder.categories = list(WasteCategory.objects.filter(is_active=True).order_by("sort_order"))
        build_registry(builder, parties)
        builder.scenario.counts.update(build_paperwork(builder, parties))
        if loads:
            builder.scenario.counts.update(build_loads(builder, now=now))
            builder.scenario.manifest_statuses = manifest_status_counts()
        # After the loads, so that their random draws (and so the loads) stay what they were.
        builder.scenario.counts.update(build_public(builder, parties, now=now or timezone.now()))
        builder.scenario.workorder_statuses = workorder_status_counts()
        suspend_pending(builder)
    builder.scenario.counts.update({key: len(value) for key, value in parties.items()})
    return builder.scenario
