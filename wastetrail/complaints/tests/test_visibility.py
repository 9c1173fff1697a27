"""Who sees which work orders, and who sees the complainant behind them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from wastetrail.complaints import policy, selectors, services
from wastetrail.complaints.models import WorkOrderSource
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, XINHUI_POINT, local
from wastetrail.core.errors import NotFound


@pytest.fixture
def orders(desk):
    at = local(2026, 11, 2)
    made = {}
    for name, point in (("pengjiang", PENGJIANG_POINT), ("xinhui", XINHUI_POINT)):
        order, _code = services.workorder_receive(
            actor=None, source=WorkOrderSource.PUBLIC, description="偷倒", lon=point[0], lat=point[1],
            complainant_name="王小明", complainant_phone="13712345678",
            category=desk.category("illegal_dumping"), now=at)
        made[name] = services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=at)
    return made


def visible_numbers(desk, username):
    return set(selectors.visible_workorders(desk.actor(username)).values_list("number", flat=True))


def test_a_district_handler_sees_only_its_district(desk, orders):
    pengjiang, xinhui = orders["pengjiang"], orders["xinhui"]
    assert visible_numbers(desk, "district_officer") == {pengjiang.number}
    assert visible_numbers(desk, "xinhui_officer") == {xinhui.number}
    assert visible_numbers(desk, "reg_officer") == {pengjiang.number, xinhui.number}
    with pytest.raises(NotFound):
        selectors.workorder_get(actor=desk.actor("xinhui_officer"), pk=pengjiang.pk)


def test_companies_and_uninvolved_units_see_nothing(desk, orders):
    for username in ("construction_admin", "transport_admin", "driver", "site_operator", "property_manager",
                     "street_officer", "housing_officer", "hotline_client"):
        assert visible_numbers(desk, username) == set(), username


def test_complainant_is_shown_to_the_handling_staff_only(desk, orders):
    pengjiang = orders["pengjiang"]
    full = {"anonymous": False, "name": "王小明", "phone": "13712345678", "masked": False}
    assert policy.complainant_for(desk.actor("district_officer"), pengjiang) == full
    assert policy.complainant_for(desk.actor("reg_officer"), pengjiang) == full
    masked = {"anonymous": False, "name": "王**", "phone": "137****5678", "masked": True}
    for username in ("xinhui_officer", "street_officer", "housing_officer", "hotline_client"):
        assert policy.complainant_for(desk.actor(username), pengjiang) == masked, username
    assert policy.complainant_for(None, pengjiang) == masked


def test_an_order_goes_only_to_a_unit_of_its_district_and_leaves_with_a_return(desk, orders):
    """A district unit's handlers must never hold another district's complainants: the dispatch
    refuses such a unit, and a return takes the order (and its complainant) away from the unit."""
    xinhui = orders["xinhui"]
    officer = desk.actor("xinhui_officer")
    order = services.workorder_return(actor=officer, order=xinhui, reason="错派", now=local(2026, 11, 2))
    # Xinhui's bureau still sees it as the district's dispatcher.
    assert order.unit is None and policy.complainant_for(officer, order)["name"] == "王小明"
    with pytest.raises(ValidationError):
        services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order,
                                    unit=desk.cast.org("district_regulator"), now=local(2026, 11, 2))
    handler = desk.actor("district_officer")
    assert order.number not in visible_numbers(desk, "district_officer")
    assert policy.complainant_for(handler, order)["masked"] is True


def test_hotline_sees_its_orders_and_their_complainants(desk):
    order, _code = services.workorder_receive(
        actor=desk.actor("hotline_client"), source=WorkOrderSource.HOTLINE, external_id="H-1",
        description="夜间运土", district=440705, complainant_name="赵六", complainant_phone="13600000000",
        now=local(2026, 11, 2))
    assert visible_numbers(desk, "hotline_client") == {order.number}
    assert policy.complainant_for(desk.actor("hotline_client"), order)["phone"] == "13600000000"


def test_anonymous_reports_have_no_complainant_for_anyone(desk):
    order, _code = services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="偷倒", lon=PENGJIANG_POINT[0],
        lat=PENGJIANG_POINT[1], anonymous=True, complainant_name="不该保存", complainant_phone="13700000000",
        now=local(2026, 11, 2))
    assert (order.complainant_name, order.complainant_phone) == ("", "")
    assert policy.complainant_for(desk.actor("reg_admin"), order)["anonymous"] is True
