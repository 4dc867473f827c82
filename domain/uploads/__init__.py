"""Uploads: tus 1.0 resumable uploads and plain uploads, finished into the evidence blob store.

Other features reach this package through the names re-exported here.
"""
from .models import Upload, UploadStatus  # noqa: F401
from .partials import BodyInterrupted  # noqa: F401
from .targets import Completion, register_upload_target, unregister_upload_target, upload_target  # noqa: F401
from .completion import register_blob_user  # noqa: F401
