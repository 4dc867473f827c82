"""HTTP resources for evidence (照片佐证): the working copies and the original (each read a custody
event), a report's validation summary, a supervisor's override, and revalidation on request."""
from __future__ import annotations

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.problems import documents_problems
from domain.access import Permission
from domain.evidence import custody, summary, validation

from .schemas import (
    OverriddenEvidenceSchema,
    OverrideCreateSchema,
    RevalidateArgsSchema,
    RevalidationSchema,
    ValidationSummarySchema,
)

blp = Blueprint("evidence", __name__, url_prefix="/evidence",
                description="Evidence photos 照片佐证: working copies, originals and verdict overrides")
report_blp = Blueprint("report-validation", __name__, url_prefix="/reports",
                       description="Validation of a report's photos 照片核验")

MAX_AGE = 3600  # a blob never changes under its name; private: never kept by a shared cache


_problem = documents_problems


def _image(description: str, media_types=("image/jpeg",)) -> dict:
    return {"responses": {"200": {"description": description, "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in media_types}}}}


def _send(served):
    resp = send_file(served.path, mimetype=served.media_type, etag=served.sha256, conditional=True,
                     max_age=MAX_AGE, last_modified=None)
    resp.cache_control.private = True
    resp.cache_control.public = False
    return resp


@blp.route("/<objectid:evidence_id>/thumbnail")
class EvidenceThumbnail(MethodView):
    @blp.doc(operationId="getEvidenceThumbnail", **_image("the 320 px JPEG: EXIF-rotated, no metadata"))
    @guarded(blp, Permission.EVIDENCE_READ)
    @_problem(blp, 404, "evidence.not-found", "evidence.copy-not-ready")
    def get(self, evidence_id, actor):
        """A photo's thumbnail

        320 px on the long side, made with the verdict; no EXIF, GPS or camera data. Each read is a
        custody event naming the reader. ETag is the copy's SHA-256.
        """
        return _send(custody.read_working_copy(actor, evidence_id, custody.THUMBNAIL))


@blp.route("/<objectid:evidence_id>/preview")
class EvidencePreview(MethodView):
    @blp.doc(operationId="getEvidencePreview", **_image("the 1600 px JPEG: EXIF-rotated, no metadata"))
    @guarded(blp, Permission.EVIDENCE_READ)
    @_problem(blp, 404, "evidence.not-found", "evidence.copy-not-ready")
    def get(self, evidence_id, actor):
        """A photo's preview

        1600 px on the long side (a posted fee list stays legible); no EXIF, GPS or camera data. The
        only copy a department may ever see. Each read is a custody event naming the reader.
        """
        return _send(custody.read_working_copy(actor, evidence_id, custody.PREVIEW))


@blp.route("/<objectid:evidence_id>/original")
class EvidenceOriginal(MethodView):
    @blp.doc(operationId="getEvidenceOriginal",
             **_image("the bytes the phone sent", ("image/jpeg", "image/heic", "image/heif", "image/png")))
    @guarded(blp, Permission.EVIDENCE_READ)
    @_problem(blp, 403, "access.forbidden")
    @_problem(blp, 404, "evidence.not-found")
    def get(self, evidence_id, actor):
        """A photo's original

        The bytes the phone sent, with all their metadata: for a supervisor of the photo's office and
        admins only. Each read is a custody event naming the reader.
        """
        return _send(custody.read_original(actor, evidence_id))


@blp.route("/<objectid:evidence_id>/override")
class EvidenceOverride(MethodView):
    @blp.doc(operationId="overrideEvidenceVerdict")
    @guarded(blp, Permission.EVIDENCE_READ)
    @blp.arguments(OverrideCreateSchema)
    @blp.response(200, OverriddenEvidenceSchema)
    @_problem(blp, 403, "access.forbidden")
    @_problem(blp, 404, "evidence.not-found")
    @_problem(blp, 409, "evidence.not-validated", "resource.concurrent-modification")
    @_problem(blp, 422, "evidence.override-invalid", "request.invalid")
    def post(self, data, evidence_id, actor):
        """Override a photo's verdict

        A supervisor of the photo's office sets the outcome that counts, with a written reason (at
        least 5 characters). The verdict as judged is kept beside it; the override is audited.
        """
        record = summary.override_verdict(actor, evidence_id, outcome=data["verdict"], reason=data["reason"])
        return {"id": str(record.pk), "outcome": record.outcome, "override": record.override}


@report_blp.route("/<objectid:report_id>/summary")
class ReportValidationSummary(MethodView):
    @report_blp.doc(operationId="getReportValidationSummary")
    @guarded(report_blp, Permission.REPORT_READ)
    @report_blp.response(200, ValidationSummarySchema)
    @_problem(report_blp, 404, "report.not-found")
    def get(self, report_id, actor):
        """Validation summary of a report

        Photos per outcome (pass, review, fail, pending; an override counts as overridden), the worst
        reasons with zh-CN and English text, and each finding and item with the photos behind it.
        """
        return summary.report_summary(actor, report_id)


@report_blp.route("/<objectid:report_id>/revalidate")
class ReportRevalidate(MethodView):
    @report_blp.doc(operationId="revalidateReport")
    @guarded(report_blp, Permission.EVIDENCE_REVALIDATE)
    @report_blp.arguments(RevalidateArgsSchema, location="query")
    @report_blp.response(202, RevalidationSchema)
    @_problem(report_blp, 404, "report.not-found")
    def post(self, args, report_id, actor):
        """Judge a report's photos again

        Queues a verdict job for each photo judged by another validator version (all of them with
        `all=true`), e.g. after a rule change. Audited.
        """
        return validation.revalidate_report(actor, report_id, everything=args["all"])
