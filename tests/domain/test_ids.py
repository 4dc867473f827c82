"""New ids are random (docs/audit.md, "Ids"): an id a department sees tells it nothing about what
else was made, and pages follow creation time, not the id."""
from datetime import datetime, timedelta, timezone

from bson import ObjectId

from domain import clock, storage
from domain.access import SYSTEM
from domain.audit import AuditEvent
from domain.clock import FixedClock
from domain.ids import new_id
from domain.outbox import OutboxEntry
from domain.pagination import page
from domain.units.models import Unit, UnitKind


def _parts(oid: ObjectId) -> tuple[int, bytes, int]:
    raw = oid.binary
    return int.from_bytes(raw[:4], "big"), raw[4:9], int.from_bytes(raw[9:], "big")


def _looks_random(ids: list[ObjectId]) -> None:
    times, processes, counters = zip(*(_parts(i) for i in ids))
    assert len(set(processes)) == len(ids), "ids share a process part"
    steps = {(b - a) % (1 << 24) for a, b in zip(counters, counters[1:])}
    assert not steps & set(range(1, 17)), f"counters step by {sorted(steps & set(range(1, 17)))}"
    assert len(set(times)) > 1, "ids made together carry one timestamp"


def test_the_factory_makes_ids_with_no_counter_no_process_part_and_no_clock():
    _looks_random([new_id() for _ in range(32)])


def test_documents_audit_events_and_outbox_entries_get_random_ids_when_stored():
    units = [Unit(code=f"C{i}", name="测试单位", kind=UnitKind.ORGANISATION) for i in range(12)]

    def write(tx):
        for unit in units:
            tx.insert(unit)
            tx.enqueue("workers.units.recount_sites", str(unit.pk))
            tx.audit(SYSTEM, "unit.create", target_type="unit", target_id=unit.pk, chain="system")

    storage.atomic(write)
    _looks_random([u.pk for u in units])
    _looks_random([d["_id"] for d in OutboxEntry._get_collection().find({})])
    _looks_random([d["_id"] for d in AuditEvent._get_collection().find({}).sort("seq", 1)])


def test_a_new_document_has_its_random_id_before_it_is_stored():
    unit = Unit(code="C1", name="测试单位", kind=UnitKind.ORGANISATION)
    assert isinstance(unit.pk, ObjectId) and unit.pk != Unit(code="C2").pk


def test_pages_follow_creation_time_whatever_the_ids():
    start = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    made = []
    with clock.using(FixedClock(start)) as fixed:
        for i in range(7):
            unit = Unit(code=f"C{i}", name="测试单位", kind=UnitKind.ORGANISATION)
            if i % 2:  # two per instant: the id breaks the tie
                fixed.advance(timedelta(seconds=1))
            storage.atomic(lambda tx: tx.insert(unit))
            made.append(unit)
    seen, cursor = [], None
    while True:
        result = page(Unit.objects, cursor, 2)
        seen += [u.pk for u in result.items]
        cursor = result.next_cursor
        if cursor is None:
            break
    by_time = sorted(made, key=lambda u: (u.created_at, u.pk))
    assert seen == [u.pk for u in by_time]
    assert [u.created_at for u in by_time] == sorted(u.created_at for u in made)
