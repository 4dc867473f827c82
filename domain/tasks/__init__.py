"""Inspection tasks (检查任务): planning, the status machine, scoped reads and the phone's sync."""
from .models import Assignment, SiteSnapshot, Task, TaskMode, TaskStatus, Transition
from .queries import Audience, TaskPage, TaskView, references_unit
from .sync import SyncResult, ensure_sync_counter

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
