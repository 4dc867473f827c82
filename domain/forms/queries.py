"""The only place that builds QuerySets of form versions.

Forms are the office-wide checklists, not data of one unit, so there is no jurisdiction to
scope by: who may read them at all is the services' question (Permission.FORM_READ).
"""
from __future__ import annotations

from ..access import Actor
from ..errors import FormVersionNotFoundError
from .models import FormVersion

SUMMARY_FIELDS = ("form_id", "version", "content_hash", "title", "description", "mode", "item_count", "loaded_at")


def version_summaries(actor: Actor) -> list[FormVersion]:
    """Every stored version without its content, by form id and newest version first."""
    return list(FormVersion.objects.only(*SUMMARY_FIELDS).order_by("form_id", "-version"))


def get_version(actor: Actor, form_id: str, version: int) -> FormVersion:
    doc = FormVersion.objects(form_id=form_id, version=version).first()
    if doc is None:
        raise FormVersionNotFoundError(form_id=form_id, version=version)
    return doc


def stored_hashes(actor: Actor, form_ids: list[str]) -> dict[str, dict[int, str]]:
    """{form_id: {version: content_hash}} of what is stored for these forms."""
    out: dict[str, dict[int, str]] = {}
    for raw in FormVersion._get_collection().find({"form_id": {"$in": list(form_ids)}},
                                                  {"form_id": 1, "version": 1, "content_hash": 1}):
        out.setdefault(raw["form_id"], {})[raw["version"]] = raw["content_hash"]
    return out
