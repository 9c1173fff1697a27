"""The audit trail: appended in the transaction of the change, hash-chained, append-only,
and `wastetrail audit verify` names the first broken link."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from wastetrail.accounts import services as account_services
from wastetrail.core.audit.chain import entry_hash
from wastetrail.core.audit.models import GENESIS_HASH, AppendOnlyError, AuditEntry
from wastetrail.core.audit.services import audit_record, audit_verify

pytestmark = pytest.mark.django_db


def _append(n: int, cast) -> list[AuditEntry]:
    admin = cast.user("reg_admin")
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(audit_record(
                actor=admin, action="test.event", object_type="test.thing", object_id=str(i),
                data={"i": i, "name": "渣土", "nested": {"b": [1, 2], "a": None}},
            ))
    return entries


def _drop_append_only_triggers() -> None:
    """What a tamperer with DDL rights would do first (transactional: undone after the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks must fire before the table can be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only")
        else:
            cursor.execute("DROP TRIGGER core_auditentry_no_update")
            cursor.execute("DROP TRIGGER core_auditentry_no_delete")


def test_rows_chain_onto_each_other_from_genesis(cast):
    first, second, third = _append(3, cast)
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert audit_verify() == (3, None)


def test_hash_covers_content_and_predecessor(cast):
    (entry,) = _append(1, cast)
    fields = dict(
        seq=entry.seq, at=entry.at, actor_id=entry.actor_id, actor_label=entry.actor_label,
        organisation_id=entry.organisation_id, action=entry.action, object_type=entry.object_type,
        object_id=entry.object_id, data=entry.data, prev_hash=entry.prev_hash,
    )
    assert entry_hash(**fields) == entry.hash
    assert entry_hash(**(fields | {"data": {"i": 99}})) != entry.hash
    assert entry_hash(**(fields | {"prev_hash": "f" * 64})) != entry.hash


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(cast):
    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="x", object_type="t", object_id="1")
    assert AuditEntry.objects.count() == 0


def test_the_orm_refuses_to_change_or_delete_rows(cast):
    (entry,) = _append(1, cast)
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_the_database_refuses_raw_updates_and_deletes(cast):
    (entry,) = _append(1, cast)
    for statement in (
        "UPDATE core_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.event"


def test_verify_names_the_row_whose_content_was_altered(cast):
    _append(5, cast)
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_id = 'tampered' WHERE seq = 3")
    checked, broken = audit_verify()
    assert checked == 2
    assert broken.seq == 3
    assert "content" in broken.reason
    with pytest.raises(CommandError, match="broken at row 3"):
        call_command("audit", "verify")


def test_verify_catches_a_row_removed_from_the_middle(cast):
    _append(4, cast)
    _drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq = 2")
    checked, broken = audit_verify()
    assert (checked, broken.seq) == (1, 2)
    assert "missing" in broken.reason


def test_verify_catches_a_rehashed_row_by_its_successor(cast):
    """Recomputing the altered row's own hash is not enough: the next row's link breaks."""
    entries = _append(3, cast)
    _drop_append_only_triggers()
    victim = entries[1]
    forged_data = {"i": 1, "name": "forged"}
    forged_hash = entry_hash(
        seq=victim.seq, at=victim.at, actor_id=victim.actor_id, actor_label=victim.actor_label,
        organisation_id=victim.organisation_id, action=victim.action,
        object_type=victim.object_type, object_id=victim.object_id, data=forged_data,
        prev_hash=victim.prev_hash,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET data = %s, hash = %s WHERE seq = 2",
            ['{"i": 1, "name": "forged"}', forged_hash],
        )
    checked, broken = audit_verify()
    assert (checked, broken.seq) == (2, 3)
    assert "previous-hash" in broken.reason


def test_verify_command_reports_an_intact_chain(cast, capsys):
    _append(2, cast)
    call_command("audit", "verify")
    assert "2 rows verified" in capsys.readouterr().out


def test_a_failed_change_leaves_no_audit_row(cast):
    """The row is written in the change's own transaction, so a rollback takes it away too."""
    actor = cast.actor("reg_admin")
    before = AuditEntry.objects.count()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        account_services.organisation_update(
            actor=actor, organisation=cast.org("transport"), name="新名称运输有限公司"
        )
        1 / 0  # noqa: B018 - fail after the service has written
    assert AuditEntry.objects.count() == before
    cast.org("transport").refresh_from_db()
    assert cast.org("transport").name != "新名称运输有限公司"


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('sqlite') or not os.environ.get('DATABASE_URL')",
                    reason="SQLite serialises writers itself; in-memory test databases lock whole tables")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(cast):
    """Several threads append at once (on PostgreSQL, truly in parallel); the chain stays one line."""
    import threading

    from django.db import connections

    admin = cast.user("reg_admin")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    audit_record(actor=admin, action="test.concurrent", object_type="t",
                                 object_id=f"{n}-{i}")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert audit_verify() == (40, None)


def test_data_round_trips_through_the_database_without_breaking_the_hash(cast):
    """Whatever a service records must hash the same after the database has stored it
    (PostgreSQL's jsonb reorders keys and re-renders numbers)."""
    import datetime as dt
    from decimal import Decimal

    with transaction.atomic():
        audit_record(actor=None, action="test.types", object_type="t", object_id="1", data={
            "big_float": 1e16, "small_float": 0.1, "int": 2**53 + 1, "decimal": Decimal("18.50"),
            "text": "建筑垃圾 “quoted” \\u00e9", "nested": {"z": [1, {"y": None}], "a": True},
            "when": dt.datetime(2026, 11, 29, 13, 5, 7, 123456, tzinfo=dt.UTC), "day": dt.date(2026, 2, 14),
        })
    assert audit_verify() == (1, None)
    with pytest.raises(ValueError), transaction.atomic():
        audit_record(actor=None, action="test.nan", object_type="t", object_id="2", data={"x": float("nan")})
