"""The demo's residents' half: areas and stacking points in every district, a routing table, and
work orders in every state whose deadlines, events and statistics agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from wastetrail.complaints.models import (
    EventKind,
    ExtensionStatus,
    RoutingRule,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderMonthlyStat,
    WorkOrderStatus,
)
from wastetrail.core.audit.services import audit_verify
from wastetrail.core.districts import DISTRICT_NAMES, district_at
from wastetrail.scenario.build import build_scenario
from wastetrail.stacking.models import CollectionRequest, PointStatus, ResidentialArea, StackingPoint

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime.combine(timezone.localdate() - dt.timedelta(days=1), dt.time(15, 20)))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One build for the module (it takes a while), removed afterwards by rolling back."""
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_scenario(seed=2024, now=NOW, loads=False)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_every_district_has_areas_and_stacking_points_placed_inside_it(demo):
    assert set(StackingPoint.objects.values_list("district", flat=True)) == set(DISTRICT_NAMES)
    for area in ResidentialArea.objects.all():
        assert district_at(lon=area.lon, lat=area.lat) == area.district, area.name
        assert 2 <= area.points.count() <= 3
    # Old neighbourhoods without a property manager: the street office runs their points.
    unmanaged = ResidentialArea.objects.filter(property_manager__isnull=True)
    assert set(unmanaged.values_list("district", flat=True)) == set(DISTRICT_NAMES)
    assert all(point.manager_id == point.area.street_office_id
               for point in StackingPoint.objects.filter(area__in=unmanaged))
    statuses = set(StackingPoint.objects.values_list("status", flat=True))
    assert statuses == set(PointStatus.values)


def test_collection_requests_are_dated_on_the_demos_clock_after_the_point_filled(demo):
    collections = CollectionRequest.objects.select_related("point")
    assert collections.exists()
    for collection in collections:
        # NOW is yesterday afternoon: a request stamped with the real time would lie after it.
        assert collection.point.fill_reported_at < collection.requested_at <= NOW, collection.pk


def test_every_district_has_a_routing_rule_to_its_bureau(demo):
    routed = RoutingRule.objects.filter(category__isnull=True, order_type="")
    assert set(routed.values_list("district", flat=True)) == set(DISTRICT_NAMES)


def test_work_orders_in_every_state_with_the_follow_ups_the_pages_show(demo):
    counts = dict(WorkOrder.objects.values_list("status").annotate(n=Count("pk")))
    assert set(counts) == set(WorkOrderStatus.values)
    assert sum(counts.values()) >= 250
    orders = WorkOrder.objects.all()
    assert orders.filter(reopen_count__gt=0).exists()
    assert orders.filter(satisfaction__isnull=False, status=WorkOrderStatus.CLOSED).count() > 50
    assert orders.filter(overdue_at__isnull=False).exists() and orders.filter(warned_at__isnull=False).exists()
    assert orders.filter(answered_late=True).exists()
    extensions = set(orders.values_list("extensions__status", flat=True))
    assert {ExtensionStatus.PENDING, ExtensionStatus.APPROVED} <= extensions
    assert orders.filter(stacking_point__isnull=False).exists()
    # Three months of history, nothing after the demo's now.
    assert orders.filter(received_at__lt=NOW - dt.timedelta(days=60)).exists()
    assert not WorkOrderEvent.objects.filter(at__gt=NOW).exists()


def test_monthly_statistics_agree_with_the_events(demo):
    # A reopened order's new round counts as a dispatch.
    dispatched = WorkOrderEvent.objects.filter(kind__in=[EventKind.DISPATCHED, EventKind.REOPENED]).count()
    answered = WorkOrderEvent.objects.filter(kind=EventKind.ANSWERED).count()
    totals = WorkOrderMonthlyStat.objects.aggregate(dispatched=Sum("dispatched"), answered=Sum("answered"),
                                                    overdue=Sum("overdue"))
    assert totals["dispatched"] == dispatched and totals["answered"] == answered
    assert totals["overdue"] == WorkOrderEvent.objects.filter(kind=EventKind.OVERDUE).count() > 0
    assert WorkOrderMonthlyStat.objects.values("month").distinct().count() >= 3
    assert audit_verify()[1] is None
