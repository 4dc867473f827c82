"""Reports (现场检查记录): intake of an inspector's field record and of the evidence files it declares."""
from ..uploads import register_blob_user
from . import intake
from .models import DeclaredFile, Device, Evidence, Finding, Fix, LateReason, Point, Report, ReportStatus

# Completed uploads whose target is "evidence" become evidence of a report (domain.uploads calls back).
intake.register()


def _working_copy_needed(tx, sha256: str) -> bool:
    """Thumbnails and previews are blobs without an upload record: they are needed while evidence names them."""
    return Evidence._get_collection().find_one({"$or": [{"thumbnail_sha256": sha256}, {"preview_sha256": sha256}]},
                                               {"_id": 1}, session=tx.session) is not None


register_blob_user(_working_copy_needed)

__all__ = ["DeclaredFile", "Device", "Evidence", "Finding", "Fix", "LateReason", "Point", "Report", "ReportStatus"]
