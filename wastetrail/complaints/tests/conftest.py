"""Work-order fixtures: the cast plus a second district's bureau, and a routing table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from wastetrail.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.complaints.models import RoutingRule, WorkOrderCategory
from wastetrail.testing import Cast, make_uscc

PENGJIANG, XINHUI = 440703, 440705
# Inside Pengjiang and inside Xinhui (WGS-84).
PENGJIANG_POINT = (113.0815, 22.5790)
XINHUI_POINT = (113.0340, 22.4590)


def local(year, month, day, hour=10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour))


@dataclass
class Desk:
    """The people who handle work orders in the tests."""

    cast: Cast
    xinhui_bureau: Organisation

    def actor(self, username: str) -> Actor:
        return actor_for(User.objects.get(username=username))

    def category(self, code: str) -> WorkOrderCategory:
        return WorkOrderCategory.objects.get(code=code)


@pytest.fixture
def desk(cast) -> Desk:
    xinhui = Organisation.objects.create(
        name="江门市新会区城市管理和综合执法局", kind=OrganisationKind.REGULATOR, district=XINHUI,
        uscc=make_uscc(990_001, district=XINHUI, government=True))
    officer = User.objects.create(username="xinhui_officer", display_name="新会监管")
    Membership.objects.create(user=officer, organisation=xinhui, role=Role.STAFF)
    admin = User.objects.create(username="xinhui_admin", display_name="新会管理")
    Membership.objects.create(user=admin, organisation=xinhui, role=Role.ADMIN)
    # Pengjiang's orders go to its bureau; stacking-point orders there to the street office.
    RoutingRule.objects.create(district=PENGJIANG, unit=cast.org("district_regulator"))
    RoutingRule.objects.create(district=PENGJIANG, category=WorkOrderCategory.objects.get(code="stacking_point_full"),
                               unit=cast.org("street_office"))
    RoutingRule.objects.create(district=XINHUI, unit=xinhui)
    return Desk(cast, xinhui)
