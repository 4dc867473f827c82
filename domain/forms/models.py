"""Form versions: each (form_id, version) stored once, immutable, with the hash of its content."""
from __future__ import annotations

import mongoengine as me

from .. import clock


class FormVersion(me.Document):
    """One version of a form, exactly as loaded (normalised). Never updated: a change is a new version,
    so a report that pins (form_id, version) always reads the checklist its inspector answered."""

    form_id = me.StringField(required=True, max_length=64)
    version = me.IntField(required=True, min_value=1)
    content = me.DictField(required=True)  # the normalised form (see domain/forms/rules.normalise)
    content_hash = me.StringField(required=True, regex=r"^[0-9a-f]{64}$")  # SHA-256 of its canonical JSON
    # Copied out of ``content`` so the catalogue is listed without reading every checklist.
    title = me.DictField(required=True)
    description = me.DictField()
    mode = me.StringField(required=True, choices=("open", "undercover", "any"))
    item_count = me.IntField(required=True)
    source = me.StringField(max_length=300)  # the file it came from
    loaded_at = me.DateTimeField(required=True, default=clock.now)

    meta = {"collection": "form_versions", "indexes": [
        {"fields": ["form_id", "version"], "unique": True},
    ]}

    @property
    def etag(self) -> str:
        return f'"{self.content_hash}"'
