"""The transaction helper: writes, audit and outbox entries commit or vanish together."""
import pytest

from domain import storage
from domain.access import SYSTEM
from domain.audit import AuditEvent
from domain.errors import ConcurrentModificationError
from domain.outbox import OutboxEntry
from domain.units.models import Unit, UnitKind


def _unit(code="C1"):
    return Unit(code=code, name="测试单位", kind=UnitKind.ORGANISATION)


def test_change_audit_and_outbox_commit_together():
    unit = _unit()

    def write(tx):
        tx.insert(unit)
        tx.audit(SYSTEM, "unit.create", target_type="unit", target_id=unit.pk, chain="system")
        tx.enqueue("workers.units.recount_sites", str(unit.pk))

    storage.atomic(write)
    assert Unit.objects(code="C1").count() == 1
    assert AuditEvent.objects(action="unit.create").count() == 1
    assert OutboxEntry.objects(job="workers.units.recount_sites").count() == 1


def test_a_failure_inside_the_transaction_leaves_nothing_behind():
    unit = _unit()

    def write(tx):
        tx.insert(unit)
        tx.enqueue("workers.units.recount_sites", str(unit.pk))
        tx.audit(SYSTEM, "unit.create", target_type="unit", target_id=unit.pk, chain="system")
        raise RuntimeError("crash after the writes, before commit")

    with pytest.raises(RuntimeError):
        storage.atomic(write)
    assert Unit.objects.count() == 0
    assert OutboxEntry.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_saving_a_stale_copy_is_refused():
    unit = _unit()
    storage.atomic(lambda tx: tx.insert(unit))
    first, second = Unit.objects.get(pk=unit.pk), Unit.objects.get(pk=unit.pk)
    first.name = "甲"
    storage.atomic(lambda tx: tx.save(first))
    assert first.rev == 1
    second.name = "乙"
    with pytest.raises(ConcurrentModificationError):
        storage.atomic(lambda tx: tx.save(second))
    assert Unit.objects.get(pk=unit.pk).name == "甲"
