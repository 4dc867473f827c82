"""Pure report rules: the payload's canonical hash, what "outside the assignment" means, lateness,
and the checks of answers, findings and declared files against the pinned form version."""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bson import ObjectId

from ..errors import ReportOutsideAssignmentError
from ..forms import indicates_problem, is_known_category, oversized_answers, validate_answers, visible_items
from ..tasks import Task, TaskStatus
from .models import LateReason

SUBMITTED_OR_LATER = (TaskStatus.SUBMITTED, TaskStatus.REVIEWED, TaskStatus.CLOSED)


def new_finding_id() -> ObjectId:
    """A finding's server id: 12 random bytes, still an ObjectId (no counter, nothing to guess from).
    The one place finding ids are made, so the shared id factory replaces it in one line."""
    try:
        from ..ids import new_id
    except ImportError:  # the shared factory (domain.ids) has not landed on this branch yet
        return ObjectId(os.urandom(12))
    return new_id()


def _canonical(value):
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 5.0 and 5 are one number
    return value


def payload_sha256(payload: dict) -> str:
    """SHA-256 of the whole payload as canonical JSON: sorted keys, UTC times to the millisecond
    (what the database keeps), absent and null alike. Retries of one submission hash equal."""
    text = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cancelled_at(task: Task) -> datetime | None:
    return next((t.at for t in reversed(task.history) if t.to_status == TaskStatus.CANCELLED.value), None)


@dataclass
class Intake:
    """How a report for ``task`` is taken: ``mark`` the inspector as reported on the task, and why it is late."""

    mark: bool
    late_reasons: list[LateReason] = field(default_factory=list)


def assess(task: Task, inspector_id, visited_at: datetime, now: datetime) -> Intake:
    """docs/reports.md: only a submitter who is not assigned, or a task cancelled before the declared
    visit, is outside the assignment. Everything else is kept, flagged late where it is; it reopens nothing."""
    if task.assignment_of(inspector_id) is None:
        raise ReportOutsideAssignmentError(reason="not-assigned", task=str(task.pk))
    reasons: list[LateReason] = []
    if task.status is TaskStatus.CANCELLED:
        at = cancelled_at(task)
        if at is None or at <= visited_at:
            raise ReportOutsideAssignmentError(reason="cancelled-before-visit", task=str(task.pk),
                                               cancelled_at=at.isoformat() if at else None,
                                               visited_at=visited_at.isoformat())
        reasons.append(LateReason.TASK_CANCELLED)
    elif task.status in SUBMITTED_OR_LATER:
        reasons.append(LateReason.AFTER_SUBMISSION)
    if now > task.ends_at:
        reasons.append(LateReason.AFTER_WINDOW)
    return Intake(mark=task.status is not TaskStatus.CANCELLED, late_reasons=reasons)


def _huge(value) -> bool:
    """An integer the database cannot store (BSON integers are 64-bit)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return not -2**63 <= value < 2**63
    if isinstance(value, dict):
        return any(_huge(v) for v in value.values())
    if isinstance(value, list):
        return any(_huge(v) for v in value)
    return False


def _error(key: str, code: str, **params) -> dict:
    return {"item": key, "code": code, **params}


# A phone's clock may run minutes ahead; a visit hours in the future is a wrong date or time zone.
VISIT_AHEAD_TOLERANCE = timedelta(minutes=15)


def check_contents(content: dict, answers: dict, findings: list[dict], files: list[dict], max_bytes: int, *,
                   visited_at: datetime | None = None, now: datetime | None = None) -> list[dict]:
    """Every problem of a report against its form version, each ``{"item": key, "code": ...}``: answers
    and findings keyed by their item id, a declared file by ``evidence.<client_id>``, the visit time by
    ``visited_at``.

    A file supports an item, or a finding (and so the finding's item): both count as that item's photos.
    A finding on an item whose answer the form can judge (``problem_when``) needs that answer to be a
    problem; where the pinned version says ``problem_needs_finding``, every problem answer needs a finding.
    Answers bigger than the pinned version allows are refused first and alone, so the work is bounded by
    the form; every check after that is linear in the report."""
    errors: list[dict] = []
    if visited_at is not None and now is not None and visited_at > now + VISIT_AHEAD_TOLERANCE:
        errors.append(_error("visited_at", "in-the-future", max_ahead_minutes=int(VISIT_AHEAD_TOLERANCE.total_seconds() // 60)))
    oversized = oversized_answers(content, answers)
    if oversized:
        return errors + oversized
    items = {i["id"]: i for s in content["sections"] for i in s["items"]}
    shown = {i["id"] for i in visible_items(content, answers)}
    finding_items = {f["client_id"]: f["item"] for f in findings if f.get("client_id")}
    photos: Counter = Counter()
    for f in files:
        key = f"evidence.{f['client_id']}"
        if f.get("finding"):
            item = finding_items.get(f["finding"])
            if item is None:
                errors.append(_error(key, "unknown-finding", finding=f["finding"]))
            elif item in shown:
                photos[item] += 1
        else:
            photos[f["item"]] += 1
        if f["size"] > max_bytes:
            errors.append(_error(key, "too-large", max=max_bytes, size=f["size"]))
    errors += validate_answers(content, answers, dict(photos))
    errors += [_error(iid, "number-too-large") for iid, value in answers.items() if _huge(value)]
    with_finding: set[str] = set()
    for n, f in enumerate(findings):
        item = items.get(f["item"])
        if item is None:
            errors.append(_error(f["item"], "finding-unknown-item", finding=n))
        elif f["item"] not in shown:
            errors.append(_error(f["item"], "finding-item-not-shown", finding=n))
        elif "problem_when" in item and not indicates_problem(item, answers.get(f["item"])):
            errors.append(_error(f["item"], "finding-not-a-problem", finding=n))
        if not is_known_category(f["category"]):
            errors.append(_error(f["item"], "finding-unknown-category", finding=n, category=f["category"]))
        with_finding.add(f["item"])
    if content.get("problem_needs_finding"):
        errors += [_error(iid, "finding-required") for iid in sorted(shown - with_finding)
                   if indicates_problem(items[iid], answers.get(iid))]
    return errors


def missing_files(report, elsewhere: dict[str, str]) -> list[dict]:
    """The declared files still awaited and why, most telling reason first: the bytes arrived under another
    report of the inspector (``elsewhere``: sha256 -> report id), the last bytes sent were refused, or
    nothing has arrived."""
    out = []
    for f in report.files:
        if not f.awaited:
            continue
        entry = {"client_id": f.client_id, "sha256": f.sha256, "item": f.item, "finding": f.finding}
        if f.sha256 in elsewhere:
            entry.update(reason="completed-under-another-report", report_id=elsewhere[f.sha256])
        elif f.refusal:
            entry.update(reason="refused", code=f.refusal.get("code"), at=f.refusal.get("at"))
        else:
            entry.update(reason="not-arrived")
        out.append(entry)
    return out


def by_key(errors: list[dict]) -> dict[str, list[dict]]:
    """The ``errors`` extension: each key's errors without the key."""
    out: dict[str, list[dict]] = {}
    for e in errors:
        out.setdefault(e["item"], []).append({k: v for k, v in e.items() if k != "item"})
    return out


def parse_target(target_id: str | None) -> tuple[str, str] | None:
    """An evidence upload's ``target_id``: ``<report id>:<client id>``."""
    report_id, sep, client_id = (target_id or "").partition(":")
    if not sep or len(report_id) != 24 or not client_id:
        return None
    return report_id, client_id
