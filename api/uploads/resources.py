"""HTTP resources for uploads: a tus 1.0 server (core, creation, creation-with-upload, checksum,
termination, expiration) under ``/api/v1/uploads``, plus a JSON read of one upload."""
from __future__ import annotations

from functools import partial

from datetime import timezone
from email.utils import format_datetime

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded, public
from api.body_rules import RequestBody, accepts
from api.problems import documents_problems
from domain.access import Permission
from domain.uploads import services

from . import problems
from .schemas import TusCreateHeadersSchema, TusPatchHeadersSchema, UploadSchema

blp = Blueprint("uploads", __name__, url_prefix="/uploads", description="Resumable uploads 断点续传上传 (tus 1.0)")
problems.install(blp)

TUS_BODY = "application/offset+octet-stream"
BINARY_BODY = {"content": {TUS_BODY: {"schema": {"type": "string", "format": "binary"}}}, "required": False}
TUS_HEADER = {"Tus-Resumable": {"description": "1.0.0", "schema": {"type": "string"}}}
TUS_RESUMABLE = [{"in": "header", "name": "Tus-Resumable", "required": True,
                  "schema": {"type": "string", "enum": ["1.0.0"]}, "description": "the tus protocol version"}]
OFFSET_HEADERS = {**TUS_HEADER,
                  "Upload-Offset": {"description": "bytes the server holds", "schema": {"type": "integer"}},
                  "Upload-Expires": {"description": "when an unfinished upload is removed (RFC 9110 date)",
                                     "schema": {"type": "string"}}}


_problem = partial(documents_problems, blp)


def _tus_response(status: int, upload=None, **headers) -> Response:
    resp = Response(status=status)
    if upload is not None:
        resp.headers["Upload-Offset"] = str(upload.offset)
        resp.headers["Upload-Length"] = str(upload.length)
        if upload.expires_at and not upload.complete:
            resp.headers["Upload-Expires"] = format_datetime(upload.expires_at.astimezone(timezone.utc), usegmt=True)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers.update(headers)
    return resp


@blp.route("")
class Uploads(MethodView):
    @blp.doc(operationId="getTusCapabilities")
    @public
    @blp.response(204, description="tus capabilities", headers={
        "Tus-Version": {"schema": {"type": "string"}}, "Tus-Extension": {"schema": {"type": "string"}},
        "Tus-Max-Size": {"schema": {"type": "integer"}}, "Tus-Checksum-Algorithm": {"schema": {"type": "string"}}})
    def options(self):
        """What this tus server supports

        Versions, extensions, the largest upload accepted and the checksum algorithms.
        """
        caps = services.tus_capabilities()
        return _tus_response(204, **{"Tus-Version": caps["version"], "Tus-Extension": ",".join(caps["extensions"]),
                                     "Tus-Max-Size": str(caps["max_size"]),
                                     "Tus-Checksum-Algorithm": ",".join(caps["checksum_algorithms"])})

    @accepts(TUS_BODY)
    @blp.doc(operationId="createUpload", requestBody=BINARY_BODY)
    @guarded(blp, Permission.UPLOAD_CREATE)
    @blp.arguments(TusCreateHeadersSchema, location="headers", as_kwargs=True)
    @blp.response(201, description="created; `Location` is the upload's URL", headers={
        **OFFSET_HEADERS, "Location": {"schema": {"type": "string"}}})
    @_problem(412, problems.TUS_VERSION_CODE)
    @_problem(413, "upload.too-large", "request.too-large")
    @_problem(415, "upload.unsupported-media-type", "request.unsupported-media-type")
    @_problem(409, "upload.too-many-open")
    @_problem(422, "upload.target-unknown", "upload.metadata-invalid", "upload.hash-mismatch", "request.invalid")
    @_problem(460, "upload.checksum-mismatch")
    def post(self, actor, upload_length, upload_metadata, upload_checksum=None):
        """Create an upload (tus creation)

        `Upload-Metadata` names the target kind and the file's SHA-256; a body, if any, is the
        first part of the file (creation-with-upload). An upload larger than `Tus-Max-Size`
        is refused with 413 before anything is read.
        """
        upload = services.create_upload(actor, length=upload_length, metadata=upload_metadata,
                                        body=RequestBody(), content_length=request.content_length,
                                        checksum=upload_checksum)
        return _tus_response(201, upload, Location=url_for("uploads.UploadById", upload_id=str(upload.pk)))


@blp.route("/<objectid:upload_id>")
class UploadById(MethodView):
    @blp.doc(parameters=TUS_RESUMABLE, operationId="getUploadOffset")
    @guarded(blp, Permission.UPLOAD_CREATE)
    @blp.response(200, description="where the upload stands (no body)", headers={
        **OFFSET_HEADERS, "Upload-Length": {"schema": {"type": "integer"}}})
    @_problem(404, "upload.not-found")
    @_problem(410, "upload.expired")
    def head(self, upload_id, actor):
        """Offset of an upload (tus HEAD)"""
        return _tus_response(200, services.upload_status(actor, upload_id))

    @blp.doc(operationId="getUpload")
    @guarded(blp, Permission.UPLOAD_CREATE)
    @blp.response(200, UploadSchema)
    @_problem(404, "upload.not-found")
    @_problem(410, "upload.expired")
    def get(self, upload_id, actor):
        """One of your uploads, as JSON

        Once complete it names the stored blob's SHA-256 and media type, and what its target made of it.
        """
        return services.upload_status(actor, upload_id)

    @accepts(TUS_BODY)
    @blp.doc(operationId="appendUpload", requestBody={**BINARY_BODY, "required": True})
    @guarded(blp, Permission.UPLOAD_CREATE)
    @blp.arguments(TusPatchHeadersSchema, location="headers", as_kwargs=True)
    @blp.response(204, description="bytes appended; the upload completes with its last byte", headers=OFFSET_HEADERS)
    @_problem(404, "upload.not-found")
    @_problem(409, "upload.offset-mismatch", "upload.locked", "upload.already-complete")
    @_problem(410, "upload.expired")
    @_problem(412, problems.TUS_VERSION_CODE)
    @_problem(413, "upload.too-large", "request.too-large")
    @_problem(415, "upload.unsupported-media-type", "request.unsupported-media-type")
    @_problem(422, "upload.hash-mismatch", "request.invalid")
    @_problem(460, "upload.checksum-mismatch")
    def patch(self, upload_id, actor, upload_offset, upload_checksum=None):
        """Append to an upload (tus PATCH)

        `Upload-Offset` must equal the server's offset (409 otherwise). The last byte verifies the
        whole file's SHA-256 and media type and hands it to its target; a refused file is not kept.
        """
        upload = services.append_chunk(actor, upload_id, offset=upload_offset, body=RequestBody(),
                                       content_length=request.content_length, checksum=upload_checksum)
        return _tus_response(204, upload)

    @blp.doc(parameters=TUS_RESUMABLE, operationId="terminateUpload")
    @guarded(blp, Permission.UPLOAD_CREATE)
    @blp.response(204, description="terminated; its bytes are gone", headers=TUS_HEADER)
    @_problem(404, "upload.not-found")
    @_problem(409, "upload.already-complete", "upload.locked")
    def delete(self, upload_id, actor):
        """Abandon an unfinished upload (tus termination)"""
        services.terminate_upload(actor, upload_id)
        return _tus_response(204)
