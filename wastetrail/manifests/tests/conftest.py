"""Manifest fixtures: a load ready to be issued, built through the other apps' services (a
filed plan, the three approvals, a sealed truck with a terminal, a driver, an open site)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest
from wastetrail.permits import services as permit_services
from wastetrail.permits.models import Approval, ApprovalKind
from wastetrail.permits.tests.conftest import make_truck  # noqa: F401 - a fixture
from wastetrail.plans import services as plan_services
from wastetrail.registry.models import Driver, Project, ReceivingSite, Vehicle
from wastetrail.registry.tests.conftest import (  # noqa: F401 - fixtures
    categories,
    make_driver,
    make_project,
    make_site,
    make_vehicle,
)


@pytest.fixture
def now() -> dt.datetime:
    """Tonight at 23:00 local: inside the plan's 22:00–06:00 transport window."""
    today = timezone.localdate()
    return timezone.make_aware(dt.datetime.combine(today, dt.time(23, 0)))


@dataclass
class ReadyLoad:
    project: Project
    category: WasteCategory
    vehicle: Vehicle
    driver: Driver
    site: ReceivingSite
    emission: Approval
    transport: Approval
    disposal: Approval

    def issue_kwargs(self, **overrides: Any) -> dict[str, Any]:
        return {"project": self.project, "category": self.category, "vehicle": self.vehicle,
                "driver": self.driver, "site": self.site, "estimated_m3": Decimal("18")} | overrides


def _approve(cast, kind: str, holder_user: str, holder, **subject_and_scope) -> Approval:
    subject = {k: subject_and_scope.pop(k) for k in ("project", "site") if k in subject_and_scope}
    approval = permit_services.approval_apply(actor=cast.actor(holder_user), kind=kind, holder=holder, **subject)
    reviewer = cast.actor("reg_officer")
    approval = permit_services.approval_start_review(actor=reviewer, approval=approval)
    today = timezone.localdate()
    return permit_services.approval_approve(actor=reviewer, approval=approval, valid_from=today - dt.timedelta(days=1),
                                            valid_to=today + dt.timedelta(days=180), **subject_and_scope)


@pytest.fixture
def driver_with_login(cast, make_driver):  # noqa: F811
    return make_driver(user=cast.user("driver"))


@pytest.fixture
def make_ready_load(cast, categories, make_project, make_site, make_truck, driver_with_login):  # noqa: F811
    """Everything a manifest needs, valid tonight. Extra sites (``also_sites``) are in the plan and
    the approvals too, so that a refused load can be redirected to them."""

    def make(*, file_plan: bool = True, truck=None, extra_sites: int = 0,
             window: tuple[dt.time, dt.time] = (dt.time(22, 0), dt.time(6, 0))) -> ReadyLoad:
        """``window``: the plan's daily transport window; equal ends mean all day (for pages,
        which act at the real time)."""
        soil = categories["excavated_soil"]
        project = make_project()
        sites = [make_site() for _ in range(1 + extra_sites)]
        vehicle = truck or make_truck()
        disposal = None
        for site in sites:
            approval = _approve(cast, ApprovalKind.DISPOSAL, "site_operator", cast.org("site_operator"), site=site,
                                categories=[soil])
            disposal = disposal or approval
        transport = _approve(cast, ApprovalKind.TRANSPORT, "transport_admin", cast.org("transport"),
                             categories=[soil], vehicles=[vehicle])
        emission = _approve(cast, ApprovalKind.EMISSION, "construction_admin", cast.org("construction"),
                            project=project, categories=[soil], sites=sites)
        if file_plan:
            today = timezone.localdate()
            streams = [{
                "category": "excavated_soil", "quantity_m3": Decimal("4000"), "carrier": cast.org("transport"),
                "site": site, "daily_start": window[0], "daily_end": window[1],
                "valid_from": today - dt.timedelta(days=1), "valid_to": today + dt.timedelta(days=90),
                "transport_mode": "sealed_truck", "route": "滨江大道—江门大道—龙湾路",
            } for site in sites]
            draft = plan_services.plan_draft_create(
                actor=cast.actor("construction_admin"), project=project, contact_name="吴施工",
                contact_phone="13807500001", reduction_measures="土方就地平衡，分类堆放，回填利用。",
                pollution_control_measures="围挡、喷淋、车辆冲洗。", reuse_rate_target=Decimal("60"),
                other_matters="", quantities=[{"category": "excavated_soil", "quantity_m3": Decimal("10000")}],
                streams=streams)
            plan_services.plan_file(actor=cast.actor("construction_admin"), plan=draft)
        load = ReadyLoad(project=project, category=soil, vehicle=vehicle, driver=driver_with_login,
                         site=sites[0], emission=emission, transport=transport, disposal=disposal)
        load.sites = sites
        return load

    return make


@pytest.fixture
def issue(cast, now):
    """Issue a manifest for a ready load as the construction unit's staff."""

    def make(load: ReadyLoad, *, actor=None, **overrides) -> Manifest:
        return services.manifest_issue(actor=actor or cast.actor("construction_staff"), now=now,
                                       **load.issue_kwargs(**overrides))

    return make


@pytest.fixture
def arrived(cast, now, issue):
    """A manifest issued, departed and arrived: ready to be weighed."""

    def make(load: ReadyLoad) -> Manifest:
        manifest = issue(load)
        manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=manifest,
                                            now=now + dt.timedelta(minutes=10))
        return services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest,
                                        now=now + dt.timedelta(hours=1))

    return make
