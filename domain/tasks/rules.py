"""Pure task rules: the status machine, the planning window, conflict of interest, the active set."""
from __future__ import annotations

from datetime import datetime, timedelta

from ..errors import (
    TaskConflictOfInterestError,
    TaskNotEditableError,
    TaskTransitionError,
    TaskWindowInvalidError,
)
from .models import SUBMITTED_OR_LATER, TaskStatus

S = TaskStatus

# action -> {from status: to status}. Status changes only by writes (docs/tasks.md, "Lifecycle"): the window
# opening changes nothing stored; the phone shows "open now" from the window itself.
TRANSITIONS: dict[str, dict[TaskStatus, TaskStatus]] = {
    # the first acknowledgement starts the task; later ones (other inspectors) are recorded only
    "acknowledge": {S.PLANNED: S.IN_PROGRESS, S.IN_PROGRESS: S.IN_PROGRESS},
    "cancel": {S.PLANNED: S.CANCELLED, S.IN_PROGRESS: S.CANCELLED},
    # a supervisor may close submission even if not every inspector has reported
    "close_submission": {S.IN_PROGRESS: S.SUBMITTED},
    "review": {S.SUBMITTED: S.REVIEWED},
    "close": {S.REVIEWED: S.CLOSED},
}
ACTIONS = (*TRANSITIONS, "update")

# Where each action would lead, for the error's ``to`` when it is refused.
TARGET = {"acknowledge": S.IN_PROGRESS, "cancel": S.CANCELLED, "close_submission": S.SUBMITTED,
          "review": S.REVIEWED, "close": S.CLOSED}


def next_status(action: str, current: TaskStatus) -> TaskStatus:
    """The status ``action`` leads to from ``current``; raises TaskTransitionError when it may not."""
    allowed = TRANSITIONS[action]
    if current not in allowed:
        raise TaskTransitionError(**{"from": str(current), "to": str(TARGET[action]), "action": action})
    return allowed[current]


def require_editable(current: TaskStatus) -> None:
    """"Update before start" means while the task is still planned."""
    if current is not TaskStatus.PLANNED:
        raise TaskNotEditableError(status=str(current))


def check_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at >= ends_at:
        raise TaskWindowInvalidError(rule="starts-before-ends", starts_at=starts_at.isoformat(),
                                     ends_at=ends_at.isoformat())
    if ends_at <= now:
        raise TaskWindowInvalidError(rule="ends-in-future", starts_at=starts_at.isoformat(),
                                     ends_at=ends_at.isoformat())


def conflict_relation(home_id, home_parent, unit_id, unit_ancestors) -> str | None:
    """How a unit visited by a task relates to an inspector's home unit, when that is a conflict:
    the home unit itself, a unit in its subtree, or its parent unit (docs/tasks.md, "Lifecycle": conflict of interest)."""
    if home_id is None:
        return None
    if unit_id == home_id:
        return "home"
    if home_id in (unit_ancestors or ()):
        return "subtree"
    if home_parent is not None and unit_id == home_parent:
        return "parent"
    return None


def check_conflict_of_interest(inspector: dict, home: dict | None, units: list[dict]) -> None:
    """``inspector`` {"_id", "username"}, ``home`` its home unit {"_id", "parent"}, ``units`` the target and
    site {"_id", "ancestors", "name"}. Raises TaskConflictOfInterestError naming the inspector."""
    if home is None:
        return
    for unit in units:
        relation = conflict_relation(home["_id"], home.get("parent"), unit["_id"], unit.get("ancestors"))
        if relation:
            raise TaskConflictOfInterestError(inspector=str(inspector["_id"]), username=inspector.get("username"),
                                              unit=str(unit["_id"]), unit_name=unit.get("name"), relation=relation)


def is_active(status: TaskStatus, submitted_at: datetime | None, now: datetime, days: int) -> bool:
    """In the phone's active set: planned, in progress, or submitted within ``days`` (whatever review
    followed since: the inspector keeps the record of a recent visit on the phone)."""
    if status in (TaskStatus.PLANNED, TaskStatus.IN_PROGRESS):
        return True
    if status in SUBMITTED_OR_LATER and submitted_at is not None:
        return submitted_at > now - timedelta(days=days)
    return False
