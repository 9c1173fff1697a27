"""Who may create and run points (Art. 15), the permission matrix, and the status / fill /
collection lifecycle, each wrong input or wrong party changing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.permits import services as permit_services
from wastetrail.stacking import selectors, services
from wastetrail.stacking.models import CollectionRequest, CollectionStatus, FillReport, PointStatus, StackingPoint
from wastetrail.stacking.tests.conftest import IN_PENGJIANG, IN_XINHUI, make_full, point_kwargs

pytestmark = pytest.mark.django_db


def audit_count() -> int:
    return AuditEntry.objects.count()


# --- creation rule --------------------------------------------------------------------------
def test_area_property_manager_creates_its_points_and_gets_a_district_code(cast, stacking):
    assert stacking.point.manager_id == cast.org("property_manager").pk
    assert stacking.point.district == 440703
    assert stacking.point.code.startswith("DP440703")
    assert stacking.other_point.code == "DP4407050001"
    assert stacking.bare_point.manager_id == cast.org("street_office").pk


@pytest.mark.parametrize("who", ["street_officer", "other_pm", "reg_officer", "housing_officer", "transport_admin"])
def test_only_the_areas_property_manager_creates_points_in_a_managed_area(cast, stacking, who):
    before = (StackingPoint.objects.count(), audit_count())
    with pytest.raises(PermissionDenied):
        services.point_create(actor=cast.actor(who), **point_kwargs(stacking.area, name="新点"))
    assert (StackingPoint.objects.count(), audit_count()) == before


@pytest.mark.parametrize("who", ["property_manager", "other_pm", "other_street", "reg_officer"])
def test_only_the_street_office_creates_points_in_an_area_without_property_manager(cast, stacking, who):
    with pytest.raises(PermissionDenied):
        services.point_create(actor=cast.actor(who), **point_kwargs(stacking.bare_area, name="新点"))


def test_point_outside_jiangmen_is_a_location_error_and_changes_nothing(cast, stacking):
    before = (StackingPoint.objects.count(), audit_count())
    with pytest.raises(ValidationError) as exc:
        services.point_create(actor=cast.actor("property_manager"),
                              **point_kwargs(stacking.area, at=(116.4, 39.9), name="北京"))
    assert "location" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.point_create(actor=cast.actor("property_manager"),
                              **point_kwargs(stacking.area, name="坏时间", open_days="89"))
    assert "open_days" in exc.value.message_dict
    assert (StackingPoint.objects.count(), audit_count()) == before


def test_street_office_registers_areas_only_in_its_district(cast, stacking):
    with pytest.raises(PermissionDenied):
        services.area_create(actor=cast.actor("street_officer"), name="越界小区",
                             street_office=cast.org("street_office"), lon=IN_XINHUI[0], lat=IN_XINHUI[1],
                             address="会城")
    with pytest.raises(PermissionDenied):  # nor in another office's name
        services.area_create(actor=cast.actor("street_officer"), name="别人的小区",
                             street_office=stacking.other_street_office, lon=IN_XINHUI[0], lat=IN_XINHUI[1],
                             address="会城")
    with pytest.raises(PermissionDenied):
        services.area_create(actor=cast.actor("property_manager"), name="物业自建",
                             street_office=cast.org("street_office"), lon=IN_PENGJIANG[0], lat=IN_PENGJIANG[1],
                             address="x")
    with pytest.raises(PermissionDenied):  # a district regulator outside its district
        services.area_create(actor=cast.actor("district_officer"), name="新会小区",
                             street_office=stacking.other_street_office, lon=IN_XINHUI[0], lat=IN_XINHUI[1],
                             address="会城")
    area = services.area_create(actor=cast.actor("reg_officer"), name="新会小区",
                                street_office=stacking.other_street_office, lon=IN_XINHUI[0], lat=IN_XINHUI[1],
                             address="会城")
    assert area.district == 440705


def test_setting_a_property_manager_hands_the_areas_points_over(cast, stacking):
    services.area_update(actor=cast.actor("street_officer"), area=stacking.bare_area,
                         property_manager=cast.org("property_manager"))
    stacking.bare_point.refresh_from_db()
    assert stacking.bare_point.manager_id == cast.org("property_manager").pk
    # From now on the street office no longer runs it; the property manager does.
    with pytest.raises(PermissionDenied):
        services.point_update(actor=cast.actor("street_officer"), point=stacking.bare_point, name="x")
    services.point_update(actor=cast.actor("property_manager"), point=stacking.bare_point, name="接管后")
    with pytest.raises(PermissionDenied):
        services.area_update(actor=cast.actor("property_manager"), area=stacking.area, name="自改")
    with pytest.raises(ValidationError):
        services.area_update(actor=cast.actor("street_officer"), area=stacking.area,
                             property_manager=cast.org("transport"))


# --- another property manager: nothing --------------------------------------------------------
def test_another_property_manager_can_neither_see_nor_touch_the_point(cast, stacking, carrier_approval):
    other = cast.actor("other_pm")
    point = make_full(cast, stacking.point)
    before = (point.status, point.fill_percent, FillReport.objects.count(), CollectionRequest.objects.count(),
              audit_count())
    with pytest.raises(PermissionDenied):
        services.point_update(actor=other, point=point, name="抢")
    with pytest.raises(PermissionDenied):
        services.point_set_status(actor=other, point=point, status="closed", reason="抢")
    with pytest.raises(PermissionDenied):
        services.fill_report_create(actor=other, point=point, fill_percent=0)
    with pytest.raises(PermissionDenied):
        services.collection_request_create(actor=other, point=point, carrier=cast.org("transport"))
    with pytest.raises(PermissionDenied):
        services.point_create(actor=other, **point_kwargs(stacking.area, name="抢建"))
    point.refresh_from_db()
    assert (point.status, point.fill_percent, FillReport.objects.count(), CollectionRequest.objects.count(),
            audit_count()) == before
    assert set(selectors.point_list(actor=other)) == {stacking.other_point}
    with pytest.raises(NotFound):
        selectors.point_get(actor=other, pk=point.pk)
    assert set(selectors.area_list(actor=other)) == {stacking.other_area}
    # ... and its collections neither.
    collection = services.collection_request_create(actor=cast.actor("property_manager"), point=point,
                                                    carrier=cast.org("transport"))
    assert not selectors.collection_list(actor=other).exists()
    with pytest.raises(PermissionDenied):
        services.collection_cancel(actor=other, collection=collection, reason="抢")
    with pytest.raises(PermissionDenied):
        services.collection_issue_manifest(actor=other, collection=collection, vehicle=None, driver=None, site=None)


# --- visibility matrix ----------------------------------------------------------------------
@pytest.mark.parametrize(("who", "expected"), [
    ("property_manager", {"point"}),
    ("other_pm", {"other_point"}),
    ("street_officer", {"point", "bare_point"}),       # the points in its areas
    ("housing_officer", {"point", "other_point"}),     # every property manager's, not the street office's
    ("reg_officer", {"point", "bare_point", "other_point"}),
    ("district_officer", {"point", "bare_point"}),     # Pengjiang only
    ("transport_admin", set()),                         # until a collection is addressed to it
    ("construction_admin", set()),
    ("driver", set()),
])
def test_who_sees_which_points(cast, stacking, who, expected):
    found = set(selectors.point_list(actor=cast.actor(who)))
    assert found == {getattr(stacking, name) for name in expected}


@pytest.mark.parametrize("who", ["housing_officer", "reg_officer", "district_officer", "transport_admin"])
def test_supervisors_and_carriers_read_but_never_run_points(cast, stacking, who):
    with pytest.raises(PermissionDenied):
        services.point_set_status(actor=cast.actor(who), point=stacking.point, status="full")
    with pytest.raises(PermissionDenied):
        services.fill_report_create(actor=cast.actor(who), point=stacking.point, fill_percent=50)


def test_housing_authority_sees_a_points_history(cast, stacking):
    services.fill_report_create(actor=cast.actor("property_manager"), point=stacking.point, fill_percent=40)
    history = selectors.point_history(actor=cast.actor("housing_officer"), pk=stacking.point.pk)
    assert [r.fill_percent for r in history.fill_reports] == [40]
    assert {e.action for e in history.audit} == {"stacking.point_create", "stacking.fill_report"}


def test_carrier_sees_the_collections_addressed_to_it_only(cast, stacking, carrier_approval):
    make_full(cast, stacking.point)
    collection = services.collection_request_create(actor=cast.actor("property_manager"), point=stacking.point,
                                                    carrier=cast.org("transport"))
    assert list(selectors.collection_list(actor=cast.actor("transport_admin"))) == [collection]
    assert list(selectors.point_list(actor=cast.actor("transport_admin"))) == [stacking.point]
    assert not selectors.collection_list(actor=cast.actor("transport_other_admin")).exists()
    with pytest.raises(PermissionDenied):
        services.collection_accept(actor=cast.actor("transport_other_admin"), collection=collection)


# --- status and fill ------------------------------------------------------------------------
def test_status_change_and_closing_needs_a_reason(cast, stacking):
    pm = cast.actor("property_manager")
    before = audit_count()
    with pytest.raises(ValidationError) as exc:
        services.point_set_status(actor=pm, point=stacking.point, status="closed", reason="  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.point_set_status(actor=pm, point=stacking.point, status="gone")
    with pytest.raises(DomainError) as err:
        services.point_set_status(actor=pm, point=stacking.point, status="open")
    assert err.value.code == "same_status"
    assert audit_count() == before
    point = services.point_set_status(actor=pm, point=stacking.point, status="closed", reason="改造")
    assert point.status == PointStatus.CLOSED
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "stacking.point_status" and entry.data["reason"] == "改造"
    with pytest.raises(DomainError) as err:
        services.fill_report_create(actor=None, point=point, fill_percent=50, client_key="k1")
    assert err.value.code == "point_closed"


def test_manager_fill_report_sets_the_level_and_100_makes_full(cast, stacking):
    pm = cast.actor("property_manager")
    services.fill_report_create(actor=pm, point=stacking.point, fill_percent=60)
    stacking.point.refresh_from_db()
    assert (stacking.point.status, stacking.point.fill_percent) == (PointStatus.OPEN, 60)
    assert stacking.point.fill_reported_at is not None
    services.fill_report_create(actor=pm, point=stacking.point, fill_percent=90, full=True)
    stacking.point.refresh_from_db()
    assert (stacking.point.status, stacking.point.fill_percent) == (PointStatus.FULL, 100)
    services.fill_report_create(actor=pm, point=stacking.point, fill_percent=30)
    stacking.point.refresh_from_db()
    assert (stacking.point.status, stacking.point.fill_percent) == (PointStatus.OPEN, 30)


@pytest.mark.parametrize("bad", [-1, 101, "half", None])
def test_bad_fill_level_changes_nothing(cast, stacking, bad):
    before = (FillReport.objects.count(), audit_count())
    with pytest.raises(ValidationError) as exc:
        services.fill_report_create(actor=cast.actor("property_manager"), point=stacking.point, fill_percent=bad)
    assert "fill_percent" in exc.value.message_dict
    assert (FillReport.objects.count(), audit_count()) == before


def test_public_reports_make_a_point_full_only_when_three_residents_agree(cast, stacking):
    now = timezone.now()
    services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, client_key="a", now=now)
    services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, client_key="b", now=now)
    stacking.point.refresh_from_db()
    assert stacking.point.status == PointStatus.OPEN and stacking.point.fill_percent == 0
    # One resident reporting again soon is refused, and would not count twice anyway.
    with pytest.raises(DomainError) as err:
        services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, client_key="a", now=now)
    assert err.value.code == "too_many_reports"
    # A report from more than a day ago no longer counts.
    services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, client_key="old",
                                now=now - dt.timedelta(days=2))
    stacking.point.refresh_from_db()
    assert stacking.point.status == PointStatus.OPEN
    report = services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, client_key="c", now=now)
    stacking.point.refresh_from_db()
    assert stacking.point.status == PointStatus.FULL
    assert report.reported_by_id is None and report.source == "public"
    with pytest.raises(ValidationError) as exc:
        services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, client_key="")
    assert "client_key" in exc.value.message_dict


def test_point_is_open_now_follows_hours_days_and_status(cast, stacking):
    point = stacking.point
    point.open_days = "12345"
    monday_10 = timezone.make_aware(dt.datetime(2026, 6, 1, 10, 0), timezone=selectors.SHANGHAI)
    assert selectors.point_is_open_now(point, monday_10)
    assert not selectors.point_is_open_now(point, monday_10.replace(hour=21))
    assert not selectors.point_is_open_now(point, monday_10 - dt.timedelta(days=1))  # Sunday
    point.opens_at, point.closes_at = dt.time(18, 0), dt.time(2, 0)
    assert selectors.point_is_open_now(point, monday_10.replace(hour=23))
    assert selectors.point_is_open_now(point, monday_10 + dt.timedelta(hours=15))  # Tue 01:00, Monday's night
    assert not selectors.point_is_open_now(point, monday_10 - dt.timedelta(hours=9))  # Mon 01:00, Sunday's night
    point.status = PointStatus.FULL
    assert not selectors.point_is_open_now(point, monday_10.replace(hour=23))


def test_nearest_points_are_ranked_by_distance_and_open_only(cast, stacking):
    found = selectors.nearest_points(113.08, 22.60, limit=10)
    assert [p for p, _ in found][:2] == [stacking.point, stacking.bare_point]
    assert found[0][1] < 5 and 2000 < found[1][1] < 3000
    make_full(cast, stacking.point)
    assert stacking.point not in [p for p, _ in selectors.nearest_points(113.08, 22.60)]
    assert stacking.point in [p for p, _ in selectors.nearest_points(113.08, 22.60, open_only=False)]


# --- collections ----------------------------------------------------------------------------
def test_collection_needs_a_full_point_and_an_approved_carrier(cast, stacking, carrier_approval):
    pm = cast.actor("property_manager")
    services.fill_report_create(actor=pm, point=stacking.point, fill_percent=50)
    with pytest.raises(DomainError) as err:
        services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    assert err.value.code == "not_full_enough"
    services.fill_report_create(actor=pm, point=stacking.point, fill_percent=85)
    with pytest.raises(DomainError) as err:  # no approval for decoration waste
        services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport_other"))
    assert err.value.code == "no_transport_approval"
    with pytest.raises(ValidationError) as exc:
        services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("site_operator"))
    assert "carrier" in exc.value.message_dict
    assert not CollectionRequest.objects.exists()
    collection = services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    assert collection.estimated_m3 == Decimal("8.5")
    with pytest.raises(DomainError) as err:
        services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    assert err.value.code == "collection_open"


def test_suspended_transport_approval_refuses_the_collection(cast, stacking, carrier_approval):
    approval, _truck = carrier_approval
    permit_services.approval_suspend(actor=cast.actor("reg_officer"), approval=approval, reason="整改")
    make_full(cast, stacking.point)
    with pytest.raises(DomainError) as err:
        services.collection_request_create(actor=cast.actor("property_manager"), point=stacking.point,
                                           carrier=cast.org("transport"))
    assert err.value.code == "no_transport_approval"


def test_collection_accept_and_cancel_states(cast, stacking, carrier_approval):
    pm, carrier = cast.actor("property_manager"), cast.actor("transport_admin")
    make_full(cast, stacking.point)
    collection = services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    with pytest.raises(PermissionDenied):  # the manager cannot accept for the carrier
        services.collection_accept(actor=pm, collection=collection)
    collection = services.collection_accept(actor=carrier, collection=collection)
    assert collection.status == CollectionStatus.ACCEPTED and collection.accepted_at
    with pytest.raises(DomainError):
        services.collection_accept(actor=carrier, collection=collection)
    with pytest.raises(ValidationError):
        services.collection_cancel(actor=carrier, collection=collection, reason="")
    collection = services.collection_cancel(actor=carrier, collection=collection, reason="车辆检修")
    assert collection.status == CollectionStatus.CANCELLED
    with pytest.raises(DomainError):
        services.collection_cancel(actor=pm, collection=collection, reason="again")
    # Cancelled: a new request may go out.
    services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))


# --- review fixes: handover trail, codes, area district, public search -----------------------
def test_a_handover_writes_one_history_row_per_point_moved(cast, stacking):
    street = cast.actor("street_officer")
    extra = services.point_create(actor=cast.actor("property_manager"),
                                  **point_kwargs(stacking.area, name="2号堆放点", at=(113.081, 22.601)))
    services.area_update(actor=street, area=stacking.area, property_manager=None)
    rows = AuditEntry.objects.filter(action="stacking.point_handover").order_by("object_id")
    assert sorted(rows.values_list("object_id", flat=True)) == sorted([str(stacking.point.pk), str(extra.pk)])
    pm, office = cast.org("property_manager").pk, cast.org("street_office").pk
    assert all(row.data["manager"] == [pm, office] for row in rows)
    assert set(StackingPoint.objects.filter(area=stacking.area).values_list("manager_id", flat=True)) == {office}
    history = selectors.point_history(actor=street, pk=stacking.point.pk)
    assert "stacking.point_handover" in [entry.action for entry in history.audit]


def test_a_code_taken_by_a_concurrent_creation_is_read_again(cast, stacking, monkeypatch):
    # Simulates the race: another creation takes the next code between our read and our insert.
    real_next_code = services._next_code
    taken = []

    def racing(district):
        code = real_next_code(district)
        if not taken:  # the first read: someone else inserts this code before we do
            taken.append(code)
            StackingPoint.objects.filter(pk=stacking.bare_point.pk).update(code=code)
        return code

    monkeypatch.setattr(services, "_next_code", racing)
    point = services.point_create(actor=cast.actor("property_manager"),
                                  **point_kwargs(stacking.area, name="新点", at=(113.081, 22.601)))
    assert point.code != taken[0] and point.code.startswith("DP440703")
    assert StackingPoint.objects.filter(code=point.code).count() == 1


def test_the_next_code_follows_the_highest_serial_past_four_digits(cast, stacking):
    StackingPoint.objects.filter(pk=stacking.bare_point.pk).update(code="DP4407039999")
    StackingPoint.objects.filter(pk=stacking.point.pk).update(code="DP44070310000")
    assert services._next_code(440703) == "DP44070310001"


def test_a_point_stands_in_its_areas_district(cast, stacking):
    before = (StackingPoint.objects.count(), audit_count())
    with pytest.raises(ValidationError) as exc:
        services.point_create(actor=cast.actor("property_manager"),
                              **point_kwargs(stacking.area, name="越界点", at=IN_XINHUI))
    assert "location" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.point_update(actor=cast.actor("property_manager"), point=stacking.point,
                              lon=IN_XINHUI[0], lat=IN_XINHUI[1])
    assert "location" in exc.value.message_dict
    stacking.point.refresh_from_db()
    assert stacking.point.district == 440703 and (StackingPoint.objects.count(), audit_count()) == before


def test_nearest_points_in_a_district_are_chosen_before_the_limit(cast, stacking):
    # From Pengjiang the nearest point is a Pengjiang one; asked for Xinhui with limit 1, the
    # Xinhui point still comes back.
    found = selectors.nearest_points(IN_PENGJIANG[0], IN_PENGJIANG[1], limit=1, district=440705)
    assert [point.pk for point, _distance in found] == [stacking.other_point.pk]
    assert selectors.nearest_points(IN_PENGJIANG[0], IN_PENGJIANG[1], limit=1)[0][0].district == 440703


def test_public_search_in_a_district_returns_its_points_up_to_the_limit(cast, stacking, client):
    body = client.get("/api/stacking/public/points", {"lon": IN_PENGJIANG[0], "lat": IN_PENGJIANG[1],
                                                       "district": 440705, "limit": 1}).json()
    assert [row["code"] for row in body] == [stacking.other_point.code]
