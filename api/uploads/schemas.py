"""Shapes of the tus headers and of an upload's JSON status."""
from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, ValidationError, fields, post_load, validate

from api.fields import INT64_MAX

METADATA_MAX = 4096


class TusMetadata(fields.Field):
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be absent)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > METADATA_MAX:
            raise ValidationError(f"at most {METADATA_MAX} characters of key/base64 pairs")
        result: dict[str, str] = {}
        for pair in value.split(","):
            pair = pair.strip()
            if not pair:
                continue
            key, _, encoded = pair.partition(" ")
            if not key.isascii() or not key.isprintable() or key in result:
                raise ValidationError(f"key {key[:40]!r} is empty, not printable ASCII, or repeated")
            encoded = encoded.strip()
            try:
                result[key] = base64.b64decode(encoded, validate=True).decode("utf-8") if encoded else ""
            except (binascii.Error, ValueError):
                raise ValidationError(f"value of {key[:40]!r} is not base64-encoded UTF-8")
        return result


class _TusHeaders(Schema):
    # Checked before the view runs (412); declared here so the OpenAPI document shows it.
    tus_resumable = fields.String(required=True, data_key="Tus-Resumable", validate=validate.OneOf(["1.0.0"]),
                                  metadata={"description": "the tus protocol version"})

    @post_load
    def _drop_version(self, data, **_kwargs):
        data.pop("tus_resumable", None)
        return data


class TusCreateHeadersSchema(_TusHeaders):
    upload_length = fields.Integer(required=True, data_key="Upload-Length", validate=validate.Range(min=0, max=INT64_MAX),
                                   metadata={"description": "total size in bytes (deferred length is not supported)"})
    upload_metadata = TusMetadata(load_default=dict, data_key="Upload-Metadata", metadata={
        "type": "string",
        "description": "base64 pairs: `target` (kind), `sha256` (hex SHA-256 of the whole file), "
                       "optional `target_id` and `filename` (a display label only)"})
    upload_checksum = fields.String(load_default=None, data_key="Upload-Checksum", validate=validate.Length(max=200),
                                    metadata={"description": "`sha256 <base64 digest>` of this request's body"})


class TusPatchHeadersSchema(_TusHeaders):
    upload_offset = fields.Integer(required=True, data_key="Upload-Offset", validate=validate.Range(min=0, max=INT64_MAX))
    upload_checksum = fields.String(load_default=None, data_key="Upload-Checksum", validate=validate.Length(max=200),
                                    metadata={"description": "`sha256 <base64 digest>` of this request's body"})


class UploadSchema(Schema):
    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "receiving | complete"})
    protocol = fields.String(dump_only=True)
    offset = fields.Integer(dump_only=True)
    length = fields.Integer(dump_only=True)
    label = fields.String(dump_only=True, allow_none=True, metadata={"description": "the sanitised file name"})
    target_kind = fields.String(dump_only=True)
    target_id = fields.String(dump_only=True, allow_none=True)
    purpose = fields.String(dump_only=True)
    declared_sha256 = fields.String(dump_only=True)
    blob_sha256 = fields.String(dump_only=True, allow_none=True)
    media_type = fields.String(dump_only=True, allow_none=True)
    expires_at = fields.DateTime(dump_only=True, allow_none=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    result = fields.Dict(dump_only=True, metadata={"description": "what the upload's target made of it"})
