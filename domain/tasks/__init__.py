"""Inspection tasks (检查任务): planning, the status machine, scoped reads and the phone's sync."""
from ..units.references import register_reference_check
from .models import Assignment, SiteSnapshot, Task, TaskMode, TaskStatus, Transition
from .queries import Audience, TaskPage, TaskView, references_unit
from .sync import SyncResult, ensure_sync_counter

# A unit that a task targets, visits or planned from has history: the unit tree refuses to delete it.
register_reference_check(references_unit)

__all__ = [
           "Assignment",
           "Audience",
           "SiteSnapshot",
           "SyncResult",
           "Task",
           "TaskMode",
           "TaskPage",
           "TaskStatus",
           "TaskView",
           "Transition",
           "ensure_sync_counter",
]
