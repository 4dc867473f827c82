"""Reports for tests: valid answers for any form version, small distinct photos, request bodies,
and ``ReportFactory`` for reports written straight through storage.atomic (for reads and scoping).

``report_body(task, photos)`` is what a phone posts for the 水务局 task of ``tests.factories.tasks``:
clean answers (no problem found) to the task's pinned form, with ``photos`` (from ``photos_for``)
declared for the photo items that need them.
"""
from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta

import factory
from bson import ObjectId
from PIL import Image

from domain import scope, storage
from domain.forms import indicates_problem, visible_items
from domain.forms.models import FormVersion
from domain.reports import DeclaredFile, Device, Evidence, Report, ReportStatus
from domain import clock

TIME_ANSWER = "2026-03-02T09:15:00+08:00"
DEVICE = {"model": "HUAWEI Mate 60", "os": "HarmonyOS 4.2", "app_version": "1.4.0"}


def _clean_value(item: dict):
    """An answer of the item's type that the form does not mark as a problem."""
    kind = item["type"]
    if kind == "time":
        return TIME_ANSWER
    if kind == "location":
        return {"lat": 22.5790, "lon": 113.0780, "crs": "wgs84", "accuracy_m": 8}
    if kind == "text":
        return "现场情况正常。"
    if kind in ("single_choice", "multi_choice"):
        values = [o["value"] for o in item["options"]]
        candidates = [v if kind == "single_choice" else [v] for v in values]
    elif kind == "yes_no":
        candidates = [True, False]
    else:  # score, number
        low, high = item.get("min"), item.get("max")
        candidates = [v for v in (low, high, 0, 1) if v is not None and (high is None or v <= high)
                      and (low is None or v >= low)]
    return next(c for c in candidates if not indicates_problem(item, c))


def clean_answers(content: dict) -> tuple[dict, dict[str, int]]:
    """Answers to every item shown (conditions followed until nothing changes), and the photos each
    shown photo item needs at least."""
    answers: dict = {}
    while True:
        missing = [i for i in visible_items(content, answers) if i["type"] != "photo" and i["id"] not in answers]
        if not missing:
            break
        for item in missing:
            answers[item["id"]] = _clean_value(item)
    needs = {i["id"]: max(i.get("min_photos", 1), 1) for i in visible_items(content, answers)
             if i["type"] == "photo" and i.get("required", True)}
    return answers, needs


def form_content(task) -> dict:
    return FormVersion.objects.get(form_id=task.form_id, version=task.form_version).content


def photo(n: int, fmt: str = "JPEG") -> bytes:
    """A small, distinct, real image (n picks the colour)."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), ((n * 53) % 256, (n * 97) % 256, (n * 31) % 256)).save(buf, fmt)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def declare(client_id: str, data: bytes, *, item: str | None = None, finding: str | None = None,
            media_type: str = "image/jpeg") -> dict:
    entry = {"client_id": client_id, "sha256": sha(data), "size": len(data), "media_type": media_type}
    entry.update({"item": item} if finding is None else {"finding": finding})
    return entry


def photos_for(task, start: int = 1) -> dict[str, tuple[dict, bytes]]:
    """client id -> (declaration, bytes): one distinct photo per photo the task's form needs."""
    _answers, needs = clean_answers(form_content(task))
    out, n = {}, start
    for item, count in needs.items():
        for k in range(count):
            data = photo(n)
            out[f"{item}-{k + 1}"] = (declare(f"{item}-{k + 1}", data, item=item), data)
            n += 1
    return out


def report_body(task, photos: dict | None = None, **overrides) -> dict:
    """A POST /api/v1/reports body for ``task`` with clean answers and ``photos`` declared."""
    answers, _needs = clean_answers(form_content(task))
    now = clock.now()
    body = {"submission_id": str(uuid.uuid4()), "task_id": str(task.pk), "form_id": task.form_id,
            "form_version": task.form_version, "visited_at": (now - timedelta(minutes=30)).isoformat(),
            "device": dict(DEVICE), "device_time": now.isoformat(), "answers": answers,
            "fixes": [{"lat": 22.5790, "lon": 113.0780, "accuracy_m": 6.5, "crs": "wgs84",
                       "at": (now - timedelta(minutes=25)).isoformat()}],
            "findings": [],
            "evidence": [d for d, _ in (photos or {}).values()]}
    body.update(overrides)
    return body


def as_kwargs(body: dict) -> dict:
    """A request body as the service takes it (what ``ReportCreateSchema`` loads): times parsed, a finding's
    ``id`` as ``client_id``."""
    def when(value):
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    out = {**body, "visited_at": when(body["visited_at"]), "device_time": when(body["device_time"])}
    out["fixes"] = [{**f, "at": when(f["at"])} for f in body.get("fixes", [])]
    out["findings"] = [{**{k: v for k, v in f.items() if k != "id"}, "client_id": f.get("id")}
                       for f in body.get("findings", [])]
    return out


class ReportFactory(factory.Factory):
    """A report as intake would have stored it, for read tests. Pass ``task`` and ``inspector`` (Account).
    Traits: ``received`` (every declared file arrived), ``flagged_late``."""

    class Meta:
        model = Report
        exclude = ("task_doc", "inspector_account", "now")

    now = factory.LazyFunction(clock.now)
    task_doc = None
    inspector_account = None
    submission_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    payload_sha256 = factory.LazyFunction(lambda: uuid.uuid4().hex * 2)
    inspector = factory.LazyAttribute(lambda o: o.inspector_account.pk)
    inspector_name = factory.LazyAttribute(lambda o: o.inspector_account.username)
    task = factory.LazyAttribute(lambda o: o.task_doc.pk)
    office = factory.LazyAttribute(lambda o: o.task_doc.office)
    target_unit = factory.LazyAttribute(lambda o: o.task_doc.target_unit)
    site = factory.LazyAttribute(lambda o: o.task_doc.site.site)
    task_mode = factory.LazyAttribute(lambda o: str(o.task_doc.mode))
    scope_units = factory.LazyAttribute(lambda o: list(o.task_doc.scope_units))
    leader_visible = factory.LazyAttribute(lambda o: scope.leader_visible(o.task_doc.mode, o.task_doc.status))
    form_id = factory.LazyAttribute(lambda o: o.task_doc.form_id)
    form_version = factory.LazyAttribute(lambda o: o.task_doc.form_version)
    form_hash = factory.LazyAttribute(lambda o: o.task_doc.form_hash)
    visited_at = factory.LazyAttribute(lambda o: o.now - timedelta(hours=1))
    device = factory.LazyFunction(lambda: Device(**DEVICE))
    device_time = factory.LazyAttribute(lambda o: o.now)
    received_at = factory.LazyAttribute(lambda o: o.now)
    answers = factory.LazyFunction(dict)
    files = factory.LazyFunction(lambda: [DeclaredFile(client_id="p1", sha256="0" * 64, size=10,
                                                       media_type="image/jpeg", item="scene_photos")])
    status = ReportStatus.INCOMPLETE

    class Params:
        received = factory.Trait(status=ReportStatus.RECEIVED, completed_at=factory.LazyAttribute(lambda o: o.now))
        flagged_late = factory.Trait(late=True, late_reasons=["after-submission"])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        report = model_class(*args, **kwargs)
        return storage.atomic(lambda tx: tx.insert(report))


def report_in(task, world, persona: str = "inspector_east", **kwargs) -> Report:
    return ReportFactory(task_doc=task, inspector_account=world.accounts[persona], **kwargs)


class EvidenceFactory(factory.Factory):
    """An evidence record of ``report`` (a Report) for its declared file ``client_id``; marks the file received."""

    class Meta:
        model = Evidence
        exclude = ("report_doc",)

    report_doc = None
    report = factory.LazyAttribute(lambda o: o.report_doc.pk)
    client_id = factory.LazyAttribute(lambda o: o.report_doc.files[0].client_id)
    task = factory.LazyAttribute(lambda o: o.report_doc.task)
    office = factory.LazyAttribute(lambda o: o.report_doc.office)
    target_unit = factory.LazyAttribute(lambda o: o.report_doc.target_unit)
    scope_units = factory.LazyAttribute(lambda o: list(o.report_doc.scope_units))
    leader_visible = factory.LazyAttribute(lambda o: o.report_doc.leader_visible)
    inspector = factory.LazyAttribute(lambda o: o.report_doc.inspector)
    sha256 = factory.LazyAttribute(lambda o: o.report_doc.file(o.client_id).sha256)
    size = factory.LazyAttribute(lambda o: o.report_doc.file(o.client_id).size)
    media_type = "image/jpeg"
    declared_media_type = "image/jpeg"
    item = factory.LazyAttribute(lambda o: o.report_doc.file(o.client_id).item)
    upload = factory.LazyFunction(ObjectId)
    protocol = "plain"
    received_at = factory.LazyFunction(clock.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        record = model_class(*args, **kwargs)

        def work(tx):
            tx.insert(record)
            received = {"files.$[f].evidence": record.pk, "files.$[f].received_at": record.received_at}
            tx.collection(Report).update_one({"_id": record.report}, {"$set": received},
                                             array_filters=[{"f.client_id": record.client_id}], session=tx.session)
            return record
        return storage.atomic(work)


# ---- the role matrix (tests/api/test_role_matrix.py) ----------------------------------------------------

def matrix_reports(world) -> dict[str, str]:
    """One report per matrix task that has one (``tests.factories.tasks.matrix_tasks``): ``open`` (open, planned;
    its file ``p1`` received), ``covert`` (undercover in progress), ``submitted`` (undercover submitted), all by
    inspector_east, and ``west`` by 新会区督查室's inspector. Ids kept on the world (``world.report_ids``)."""
    if getattr(world, "report_ids", None):
        return world.report_ids
    from domain.accounts.models import Account
    from domain.tasks import Task
    from tests.factories.tasks import matrix_tasks

    task_ids = matrix_tasks(world)
    east = world.accounts["inspector_east"]
    made = {key: ReportFactory(task_doc=Task.objects.get(pk=task_ids[key]), inspector_account=east)
            for key in ("open", "covert", "submitted")}
    made["west"] = ReportFactory(task_doc=Task.objects.get(pk=task_ids["west"]),
                                 inspector_account=Account.objects.get(username="matrix_inspector_west"))
    EvidenceFactory(report_doc=made["open"])
    world.report_ids = {k: str(r.pk) for k, r in made.items()}
    return world.report_ids


def report_path(key: str, suffix: str = ""):
    """A role-matrix path builder: ``/api/v1/reports/<id of matrix report key><suffix>``."""
    return lambda world: f"/api/v1/reports/{matrix_reports(world)[key]}{suffix}"


def report_ids_are(*keys):
    """A role-matrix body check on a report page."""
    def check(world, body):
        names = {v: k for k, v in matrix_reports(world).items()}
        assert {names.get(r["id"], r["id"]) for r in body["items"]} == set(keys)
    return check


def report_is(key: str):
    def check(world, body):
        assert body["id"] == matrix_reports(world)[key]
    return check


def evidence_of_open_report(world, body):
    """The metadata of the one file that arrived, and no way to the bytes."""
    assert [e["client_id"] for e in body["items"]] == ["p1"]
    assert not any(k in body["items"][0] for k in ("url", "href", "path"))


def evidence_replayed(world, body):
    assert body["evidence"]["client_id"] == "p1" and body["report"]["id"] == matrix_reports(world)["open"]


def late_report_body(world, persona):
    """inspector_east's report of the reviewed matrix task (kept, flagged late)."""
    from domain.tasks import Task
    from tests.factories.tasks import matrix_tasks

    task = Task.objects.get(pk=matrix_tasks(world)["reviewed"])
    return report_body(task, photos_for(task))
