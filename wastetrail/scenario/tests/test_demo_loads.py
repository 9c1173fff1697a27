"""The demo's loads: a few hundred manifests in every state, built through the services.

The demo is built once for this module (inside a transaction rolled back at the end), since
building its loads takes a while; every test here reads it and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.audit.services import audit_verify
from wastetrail.manifests.models import VEHICLE_BUSY_STATUSES, Manifest, ManifestStatus
from wastetrail.registry.models import ReceivingSite

pytestmark = pytest.mark.django_db

# A fixed afternoon (day-window plan streams can have trucks on the road), for the whole module.
NOW = timezone.make_aware(dt.datetime.combine(timezone.localdate() - dt.timedelta(days=1), dt.time(15, 20)))
# The least the demo must have in each state (it has more; see TAIL_QUOTAS in scenario.loads).
AT_LEAST = 5


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> str:
    """`wastetrail demo` as a user runs it, up to NOW; what it printed."""
    output = io.StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo", "--seed", "2024", "--now", timezone.localtime(NOW).strftime("%Y-%m-%dT%H:%M"),
                     stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


def test_the_demo_has_a_few_hundred_manifests_in_every_state(demo):
    statuses = Counter(Manifest.objects.values_list("status", flat=True))
    assert set(statuses) == set(ManifestStatus.values)
    assert all(count >= AT_LEAST for count in statuses.values()), statuses
    assert 300 <= sum(statuses.values()) <= 1000
    overdue = Manifest.objects.filter(status__in=VEHICLE_BUSY_STATUSES, is_overdue=True)
    # The command says what it built.
    printed = ", ".join(f"{status} {statuses[status]}" for status in ManifestStatus.values)
    assert f"manifests {sum(statuses.values())}," in demo
    assert f"manifests by status: {printed}, overdue {overdue.count()}\n" in demo
    # Overdue: flagged by the job, and only loads still on the road past their expected arrival.
    for status in ("issued", "departed"):
        assert overdue.filter(status=status).count() >= AT_LEAST
    assert not overdue.filter(expected_arrival_at__gte=NOW).exists()
    assert not Manifest.objects.filter(status__in=("issued", "departed"), is_overdue=False,
                                       expected_arrival_at__lt=NOW).exists()
    # Refusals have a reason, and refused loads went on to another site.
    refusals = Manifest.objects.filter(refused_quantity__gt=0)
    assert refusals.count() >= 2 * AT_LEAST and not refusals.filter(refusal_reason="").exists()
    redirects = Manifest.objects.filter(parent__isnull=False).select_related("parent")
    assert redirects.filter(parent__status="partially_refused").count() >= AT_LEAST
    assert redirects.filter(parent__status="refused").count() >= AT_LEAST
    assert Manifest.objects.filter(status="partially_refused", redirects__isnull=True).exists()
    assert all(r.site_id != r.parent.site_id for r in redirects)
    assert audit_verify()[1] is None


def test_open_demo_manifests_are_on_distinct_vehicles_and_every_step_is_in_time_order(demo):
    open_vehicles = list(Manifest.objects.filter(status__in=VEHICLE_BUSY_STATUSES).values_list("vehicle", flat=True))
    assert len(open_vehicles) >= 3 * AT_LEAST
    assert len(open_vehicles) == len(set(open_vehicles))
    for m in Manifest.objects.all():
        steps = [t for t in (m.issued_at, m.departed_at, m.arrived_at, m.received_at, m.closed_at) if t]
        assert steps == sorted(steps) and steps[-1] <= NOW, m.number
        assert m.number[2:10] == timezone.localtime(m.issued_at).strftime("%Y%m%d")
        if m.cancelled_at:
            assert m.issued_at < m.cancelled_at < m.planned_departure_at and m.departed_at is None
    # The driver who can log in has a load waiting on his phone.
    assert Manifest.objects.filter(driver__user__username="driver1", status="issued").exists()


def test_demo_site_capacity_is_what_its_manifests_accepted(demo):
    initial = {int(entry.object_id): Decimal(entry.data["used_capacity_m3"])
               for entry in AuditEntry.objects.filter(action="site.create")}
    accepted = dict(Manifest.objects.filter(accepted_m3__gt=0).order_by().values_list("site")
                    .annotate(total=Sum("accepted_m3")))
    assert len(accepted) >= 5
    for site in ReceivingSite.objects.all():
        assert site.used_capacity_m3 == initial[site.pk] + accepted.get(site.pk, 0), site.name
    # Weighed loads: net = gross − tare, and accepted + refused = received, on every receipt.
    for m in Manifest.objects.filter(received_at__isnull=False):
        assert m.accepted_quantity + m.refused_quantity == m.received_quantity
        if m.quantity_unit == "t":
            assert m.gross_t - m.tare_t == m.net_t == m.received_quantity
            assert Decimal("10") < m.tare_t < Decimal("20")
