"""Evidence bytes: the content-addressed blob store and media-type sniffing."""
from __future__ import annotations

from .blobstore import BlobInfo, BlobStore, FilesystemBlobStore, valid_sha256  # noqa: F401
from .sniff import ALLOWED, Purpose  # noqa: F401


def blob_store() -> BlobStore:
    """The configured store: ``<data_dir>/blobs`` on the local filesystem."""
    from ..config import get_settings

    return FilesystemBlobStore(get_settings().data_dir / "blobs")
