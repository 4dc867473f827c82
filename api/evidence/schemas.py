"""Shapes of evidence validation responses and the override request. Reason texts are rendered here,
at the edge, from the message catalogue in both languages (the domain returns codes and params)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.fields import Text
from api.messages import text

OUTCOMES = ("pass", "review", "fail")
COUNTED = (*OUTCOMES, "pending")
LANGS = (("zh-CN", "zh_CN"), ("en", "en"))


def rendered(reason: dict) -> dict:
    """``{"zh-CN": {title, detail}, "en": {...}}`` for a reason; a hidden match's names say so."""
    out = {}
    for tag, locale in LANGS:
        params = dict(reason.get("params") or {})
        if reason.get("hidden_match"):
            hidden = text(locale, "evidence.match-hidden")
            params.update(other_evidence_id=hidden, other_report_id=hidden)
        out[tag] = {"title": text(locale, f"{reason['code']}|title") or reason["code"],
                    "detail": text(locale, f"{reason['code']}|detail", params) or ""}
    return out


class ReasonSchema(Schema):
    code = fields.String()
    outcome = fields.String(metadata={"enum": list(OUTCOMES)})
    params = fields.Dict(metadata={"description": "UTC times; other photos' ids only where you may see them"})
    hidden_match = fields.Boolean(dump_default=False, metadata={
        "description": "the reason names a photo of a report you may not see: its ids are left out"})
    text = fields.Function(rendered, metadata={"description": "title and detail in zh-CN and en"})


class WorstReasonSchema(ReasonSchema):
    count = fields.Integer(metadata={"description": "photos with this reason"})
    evidence_ids = fields.List(fields.String())


class OverrideSchema(Schema):
    outcome = fields.String(metadata={"enum": list(OUTCOMES)})
    reason = fields.String()
    by = fields.String(allow_none=True)
    by_name = fields.String(allow_none=True)
    at = fields.DateTime()


class PhotoVerdictSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    item = fields.String(allow_none=True)
    finding = fields.String(allow_none=True)
    outcome = fields.String(metadata={"enum": list(COUNTED), "description": "the override's, else the verdict's"})
    verdict_outcome = fields.String(allow_none=True, metadata={"description": "as judged, kept under an override"})
    reasons = fields.List(fields.Nested(ReasonSchema))
    validator_version = fields.Integer(allow_none=True)
    validated_at = fields.DateTime(allow_none=True)
    override = fields.Nested(OverrideSchema, allow_none=True)
    thumbnail = fields.Boolean(metadata={"description": "GET /evidence/{id}/thumbnail is ready"})
    preview = fields.Boolean(metadata={"description": "GET /evidence/{id}/preview is ready"})


class FindingPhotosSchema(Schema):
    id = fields.String(allow_none=True)
    item = fields.String()
    category = fields.String()
    severity = fields.String()
    photos = fields.List(fields.Nested(PhotoVerdictSchema))


class ItemPhotosSchema(Schema):
    item = fields.String()
    photos = fields.List(fields.Nested(PhotoVerdictSchema))


class CountsSchema(Schema):
    pass_ = fields.Integer(data_key="pass", attribute="pass")
    review = fields.Integer()
    fail = fields.Integer()
    pending = fields.Integer()


class ValidationSummarySchema(Schema):
    report_id = fields.String()
    status = fields.String()
    total = fields.Integer()
    counts = fields.Nested(CountsSchema)
    worst_reasons = fields.List(fields.Nested(WorstReasonSchema))
    findings = fields.List(fields.Nested(FindingPhotosSchema))
    items = fields.List(fields.Nested(ItemPhotosSchema))
    photos = fields.List(fields.Nested(PhotoVerdictSchema))


class OverrideCreateSchema(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason = Text(multiline=True, required=True, validate=validate.Length(min=5, max=2000), metadata={
        "description": "why the verdict is overridden (at least 5 characters); kept in the audit log"})


class OverriddenEvidenceSchema(Schema):
    id = fields.String()
    verdict_outcome = fields.String(attribute="outcome", metadata={"description": "as judged, unchanged"})
    override = fields.Nested(OverrideSchema)


class RevalidateArgsSchema(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "judge every photo again, not only stale ones"})


class RevalidationSchema(Schema):
    report = fields.String()
    queued = fields.Integer()
    evidence_ids = fields.List(fields.String())
    validator_version = fields.Integer()
