"""HTTP resources for field reports (现场检查记录): submit, read, and send the declared evidence files."""
from __future__ import annotations

from functools import partial

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.body_rules import RequestBody, accepts
from api.pagination import page_limit
from api.problems import documents_problems
from domain.access import Permission
from domain.evidence import custody
from domain.reports import services

from .schemas import (PHOTO_TYPES, EvidencePageSchema, EvidenceQueryArgsSchema, EvidenceReceiptSchema,
                      ReportReasonSchema, ReplaceFileSchema, ReportCreateSchema, ReportPageSchema, ReportQueryArgsSchema,
                      ReportSchema)

blp = Blueprint("reports", __name__, url_prefix="/reports", description="Field reports 现场检查记录 and their evidence")

BODY_TYPES = (*PHOTO_TYPES, "application/octet-stream")
BINARY_BODY = {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in BODY_TYPES}}


_problem = partial(documents_problems, blp)


@blp.route("")
class Reports(MethodView):
    @blp.doc(operationId="listReports")
    @guarded(blp, Permission.REPORT_READ)
    @blp.arguments(ReportQueryArgsSchema, location="query")
    @blp.response(200, ReportPageSchema)
    @_problem(422, "pagination.invalid-cursor", "request.invalid")
    def get(self, args, actor):
        """List reports

        Scoped by role: an inspector its own, a supervisor those of its office's tasks, a leader its
        jurisdiction (of an undercover task once the task is submitted), an admin all. Oldest first.
        """
        return services.list_reports(actor, cursor=args.get("cursor"), limit=page_limit(args.get("limit")),
                                     task_id=args.get("task_id"), status=args.get("status"), late=args.get("late"))

    @blp.doc(operationId="submitReport")
    @guarded(blp, Permission.REPORT_SUBMIT)
    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportSchema)
    @blp.alt_response(200, schema=ReportSchema, success=True,
                      description="a retry: this submission id was received before with the same payload")
    @_problem(404, "task.not-found", "form.version-not-found")
    @_problem(409, "report.submission-conflict", "report.already-submitted")
    @_problem(422, "report.invalid", "report.outside-assignment", "report.form-mismatch", "geo.crs-unknown",
              "geo.coordinate-out-of-range", "request.invalid")
    def post(self, data, actor):
        """Submit a report

        The phone's field record of one task, with the files it will send. Send it again with the same
        `submission_id` until an answer arrives: the same payload returns the same report (200); a
        different one is 409. The report is `incomplete` until every declared file has arrived
        (PUT `/reports/{id}/evidence/{client_id}`, or tus with `target=evidence`), then `received`.
        """
        result = services.submit_report(actor, **data)
        return result.report, 200 if result.replayed else 201


@blp.route("/<objectid:report_id>")
class ReportById(MethodView):
    @blp.doc(operationId="getReport")
    @guarded(blp, Permission.REPORT_READ)
    @blp.response(200, ReportSchema)
    @_problem(404, "report.not-found")
    def get(self, report_id, actor):
        """One report

        With the state of each declared file.
        """
        return services.read_report(actor, report_id)


@blp.route("/<objectid:report_id>/evidence")
class ReportEvidence(MethodView):
    @blp.doc(operationId="listReportEvidence")
    @guarded(blp, Permission.REPORT_EVIDENCE_READ)
    @blp.arguments(EvidenceQueryArgsSchema, location="query")
    @blp.response(200, EvidencePageSchema)
    @_problem(404, "report.not-found")
    @_problem(422, "pagination.invalid-cursor", "request.invalid")
    def get(self, args, report_id, actor):
        """Evidence of a report

        Metadata of the files that arrived (hash, size, sniffed type) and their verdicts, in arrival
        order; never the originals. With `thumbnails=true` each photo carries its 320 px thumbnail
        inline, and the page is one custody event naming the photos shown. For the reporting
        inspector, its office's supervisors and admins.
        """
        return custody.list_report_evidence(actor, report_id, cursor=args.get("cursor"),
                                            limit=page_limit(args.get("limit")), thumbnails=args["thumbnails"])


@blp.route("/<objectid:report_id>/evidence/<client_id>")
class ReportEvidenceFile(MethodView):
    @accepts(*BODY_TYPES)
    @blp.doc(operationId="putReportEvidence", requestBody=BINARY_BODY)
    @guarded(blp, Permission.REPORT_SUBMIT)
    @blp.response(201, EvidenceReceiptSchema)
    @blp.alt_response(200, schema=EvidenceReceiptSchema, success=True,
                      description="the file had arrived before: nothing was read or stored again")
    @_problem(404, "report.not-found", "report.evidence-not-declared")
    @_problem(413, "upload.too-large", "request.too-large")
    @_problem(415, "upload.unsupported-media-type", "request.unsupported-media-type")
    @_problem(422, "upload.hash-mismatch", "upload.size-mismatch", "report.evidence-mismatch")
    def put(self, report_id, client_id, actor):
        """Send a declared file

        The raw bytes of one file the report declared (a small photo; large ones go by tus). They must
        hash to the declared SHA-256, and be a JPEG, HEIC/HEIF or PNG whatever the Content-Type says;
        otherwise nothing is kept. The last declared file makes the report `received`.
        """
        result = services.put_evidence(actor, report_id, client_id, stream=RequestBody(),
                                       content_length=request.content_length)
        return {"evidence": result.evidence, "report": result.report}, 201 if result.created else 200


@blp.route("/<objectid:report_id>/evidence/<client_id>/withdraw")
class ReportEvidenceWithdraw(MethodView):
    @blp.doc(operationId="withdrawReportEvidence")
    @guarded(blp, Permission.REPORT_SUBMIT)
    @blp.arguments(ReportReasonSchema)
    @blp.response(200, ReportSchema)
    @_problem(404, "report.not-found", "report.evidence-not-declared")
    @_problem(409, "report.evidence-already-received", "report.files-settled")
    @_problem(422, "report.reason-required", "request.invalid")
    def post(self, data, report_id, client_id, actor):
        """Withdraw a declared file

        The inspector's phone says a declared file will not come (refused, lost, never taken), with a
        reason kept in the audit trail. It is no longer awaited: with nothing else missing the report is
        `received`. Until the task's review; again for the same file answers the same report.
        """
        return services.withdraw_file(actor, report_id, client_id, reason=data["reason"])


@blp.route("/<objectid:report_id>/evidence/<client_id>/replace")
class ReportEvidenceReplace(MethodView):
    @blp.doc(operationId="replaceReportEvidence")
    @guarded(blp, Permission.REPORT_SUBMIT)
    @blp.arguments(ReplaceFileSchema)
    @blp.response(200, ReportSchema)
    @_problem(404, "report.not-found", "report.evidence-not-declared")
    @_problem(409, "report.evidence-already-received", "report.files-settled")
    @_problem(422, "report.reason-required", "report.invalid", "request.invalid")
    def post(self, data, report_id, client_id, actor):
        """Replace a declared file

        Declare other bytes (`sha256`, `size`, `media_type`) for a file that has not arrived, e.g. a TIFF
        declared as a JPEG, or one withdrawn before; then send them as usual. The earlier declaration is
        kept with the reason. Until the task's review.
        """
        return services.replace_file(actor, report_id, client_id, **data)


@blp.route("/<objectid:report_id>/close")
class ReportClose(MethodView):
    @blp.doc(operationId="closeReportIncomplete")
    @guarded(blp, Permission.TASK_REVIEW)
    @blp.arguments(ReportReasonSchema)
    @blp.response(200, ReportSchema)
    @_problem(404, "report.not-found")
    @_problem(409, "report.not-incomplete")
    @_problem(422, "report.reason-required", "request.invalid")
    def post(self, data, report_id, actor):
        """Close a report as incomplete

        A supervisor closes a report whose missing files will not come: it becomes `closed-incomplete`,
        the missing files stay listed in `missing_files`, and the photos that arrived are judged.
        """
        return services.close_incomplete(actor, report_id, reason=data["reason"])
