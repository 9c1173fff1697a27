"""Stacking fixtures: the cast plus a second property manager and a second street office (in
another district), an area of each kind and a point in each, and a carrier with a transport
approval covering decoration waste."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from wastetrail.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from wastetrail.manifests.tests.conftest import _approve
from wastetrail.permits.models import ApprovalKind
from wastetrail.permits.tests.conftest import make_truck  # noqa: F401 - a fixture
from wastetrail.registry.tests.conftest import (  # noqa: F401 - fixtures
    categories,
    make_driver,
    make_site,
    make_vehicle,
    token_for,
)
from wastetrail.stacking import services
from wastetrail.stacking.models import ResidentialArea, StackingPoint
from wastetrail.testing import make_uscc

PENGJIANG, XINHUI = 440703, 440705
IN_PENGJIANG = (113.08, 22.60)
IN_XINHUI = (113.03, 22.46)


def add_member(org: Organisation, username: str, role: str = Role.ADMIN) -> User:
    user = User.objects.create(username=username, display_name=username)
    Membership.objects.create(user=user, organisation=org, role=role)
    return user


@dataclass
class Stacking:
    area: ResidentialArea            # managed by the cast's property manager (Pengjiang)
    bare_area: ResidentialArea       # no property manager: the street office runs it
    other_area: ResidentialArea      # another property manager's, in Xinhui
    point: StackingPoint
    bare_point: StackingPoint
    other_point: StackingPoint
    other_manager: Organisation
    other_street_office: Organisation


def point_kwargs(area, at=IN_PENGJIANG, **overrides):
    return {"area": area, "name": "1号堆放点", "lon": at[0], "lat": at[1], "address": "环市街道1号",
            "container_type": "enclosure", "capacity_m3": Decimal("10"), "opens_at": dt.time(7, 0),
            "closes_at": dt.time(20, 0), "open_days": "1234567"} | overrides


@pytest.fixture
def stacking(cast, categories) -> Stacking:  # noqa: F811
    other_manager = Organisation.objects.create(
        name="新会名都物业有限公司", kind=OrganisationKind.PROPERTY_MANAGER, district=XINHUI,
        uscc=make_uscc(424242, district=XINHUI))
    other_office = Organisation.objects.create(
        name="新会区会城街道办事处", kind=OrganisationKind.STREET_OFFICE, district=XINHUI,
        uscc=make_uscc(434343, district=XINHUI, government=True))
    add_member(other_manager, "other_pm")
    add_member(other_office, "other_street")
    street = cast.actor("street_officer")
    area = services.area_create(actor=street, name="碧桂花园", street_office=cast.org("street_office"),
                                property_manager=cast.org("property_manager"), lon=IN_PENGJIANG[0],
                                lat=IN_PENGJIANG[1], address="环市街道")
    bare = services.area_create(actor=street, name="老城区三巷", street_office=cast.org("street_office"),
                                lon=113.07, lat=22.58, address="环市街道三巷")
    other_area = services.area_create(actor=cast.actor("other_street"), name="名都花园", street_office=other_office,
                                      property_manager=other_manager, lon=IN_XINHUI[0], lat=IN_XINHUI[1],
                                      address="会城街道")
    point = services.point_create(actor=cast.actor("property_manager"), **point_kwargs(area))
    bare_point = services.point_create(actor=street, **point_kwargs(bare, at=(113.07, 22.58), name="三巷堆放点"))
    other_point = services.point_create(actor=cast.actor("other_pm"),
                                        **point_kwargs(other_area, at=IN_XINHUI, name="名都堆放点"))
    return Stacking(area=area, bare_area=bare, other_area=other_area, point=point, bare_point=bare_point,
                    other_point=other_point, other_manager=other_manager, other_street_office=other_office)


@pytest.fixture
def carrier_approval(cast, categories, make_truck):  # noqa: F811
    """The cast's transport company holds a transport approval for decoration waste, covering
    one truck (returned)."""
    truck = make_truck()
    approval = _approve(cast, ApprovalKind.TRANSPORT, "transport_admin", cast.org("transport"),
                        categories=[categories["decoration_waste"]], vehicles=[truck])
    return approval, truck


@pytest.fixture
def decoration_site(cast, categories, make_site):  # noqa: F811
    site = make_site(accepted_categories=["decoration_waste", "construction_waste"])
    _approve(cast, ApprovalKind.DISPOSAL, "site_operator", cast.org("site_operator"), site=site,
             categories=[categories["decoration_waste"]])
    return site


def make_full(cast, point) -> StackingPoint:
    services.fill_report_create(actor=cast.actor("property_manager"), point=point, fill_percent=100)
    point.refresh_from_db()
    return point


def today() -> dt.date:
    return timezone.localdate()
