"""What completed uploads are for: a small registry of target kinds and their completion handlers.

A feature registers its kind at import (report intake: ``"evidence"``). The handler runs inside
the completion transaction, beside the ``upload.complete`` audit event, and stages its own
writes on ``tx``; raising a domain error refuses the upload and nothing is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UploadTargetUnknownError
from ..evidence.sniff import Purpose


@dataclass(frozen=True)
class Completion:
    """What a handler may return: a small result for the client (e.g. the evidence id), and the
    audit chain and unit of the thing the upload was for (default: the uploader's home unit)."""

    result: dict = field(default_factory=dict)
    chain: str | None = None
    target_unit: str | None = None


Handler = Callable[..., "Completion | dict | None"]  # handler(actor, upload, blob_info, tx)
Check = Callable[..., None]  # check(actor, target_id, *, sha256, length): raise to refuse before any byte is sent


@dataclass(frozen=True)
class UploadTarget:
    kind: str
    handler: Handler
    purpose: Purpose
    check: Check | None = None


_targets: dict[str, UploadTarget] = {}


def register_upload_target(kind: str, handler: Handler, *, purpose: Purpose = Purpose.INSPECTION_EVIDENCE,
                           check: Check | None = None) -> UploadTarget:
    """Register (or replace) the handler called as ``handler(actor, upload, blob_info, tx)``."""
    target = UploadTarget(kind, handler, Purpose(purpose), check)
    _targets[kind] = target
    return target


def unregister_upload_target(kind: str) -> None:
    _targets.pop(kind, None)


def upload_target(kind: Any) -> UploadTarget:
    target = _targets.get(kind) if isinstance(kind, str) else None
    if target is None:
        raise UploadTargetUnknownError(target=str(kind)[:64], known=", ".join(sorted(_targets)) or "-")
    return target


def as_completion(value) -> Completion:
    if isinstance(value, Completion):
        return value
    return Completion(result=dict(value or {}))
