"""Ports the domain owns; adapters live elsewhere (workers/queues.py for the task queue)."""
from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class QueueName(StrEnum):
    """The job queues, in the order a worker drains them: the one place their names live."""

    DEFAULT = "default"
    LOW = "low"  # previews and other work that must never hold up verdicts


QUEUES: tuple[str, ...] = tuple(q.value for q in QueueName)


class TaskQueue(Protocol):
    def enqueue(self, *, job_id: str, job: str, args: list, kwargs: dict, queue: str) -> None:
        """Hand a job to the queue; raise ``QueueUnavailable`` when it cannot be reached."""


class QueueUnavailable(Exception):
    """The queue cannot take jobs right now; the outbox keeps them."""
