"""Two parties acting at the same moment cannot corrupt a manifest (PostgreSQL, real threads)."""

from __future__ import annotations

import importlib
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from wastetrail.core.errors import DomainError
from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest
from wastetrail.registry.models import ReceivingSite

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run the calls at once; return what each returned or raised."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            start.wait()
            results[i] = call()
        except BaseException as exc:  # collected and asserted by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture(autouse=True)
def postgres_only(transactional_db):
    """Also reloads the rulebook's defaults: an earlier transactional test's flush removed the
    rows that the data migration loaded (the approvals' review deadlines among them)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    from django.apps import apps
    defaults = importlib.import_module("wastetrail.core.migrations.0005_jiangmen_defaults")
    defaults.load_defaults(apps, None)


def test_two_issues_for_one_truck_at_once_give_one_manifest(cast, make_ready_load, now):
    load = make_ready_load()
    actor = cast.actor("construction_staff")
    results = race(*[lambda: services.manifest_issue(actor=actor, now=now, **load.issue_kwargs())] * 2)
    assert sorted(type(r).__name__ for r in results) == ["DomainError", "Manifest"]
    assert [r.code for r in results if isinstance(r, DomainError)] == ["vehicle_busy"]
    assert Manifest.objects.count() == 1


def test_two_receipts_at_once_count_the_load_once(cast, make_ready_load, arrived):
    load = make_ready_load()
    manifest = arrived(load)
    actor = cast.actor("site_operator")
    results = race(*[lambda: services.manifest_receive(actor=actor, manifest=manifest, outcome="accepted",
                                                       volume_m3="10")] * 2)
    assert sorted(type(r).__name__ for r in results) == ["DomainError", "Manifest"]
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("10.00")


def test_cancel_and_departure_at_once_leave_one_consistent_outcome(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    results = race(
        lambda: services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=manifest, reason="x"),
        lambda: services.manifest_depart(actor=cast.actor("driver"), manifest=manifest),
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    stored = Manifest.objects.get(pk=manifest.pk)
    assert stored.status in ("cancelled", "departed")
    assert stored.signatures.filter(step="transporter").exists() == (stored.status == "departed")
