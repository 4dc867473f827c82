"""Reports (现场检查记录): intake of an inspector's field record and of the evidence files it declares."""
from .models import DeclaredFile, Device, Evidence, Finding, Fix, LateReason, Point, Report, ReportStatus

__all__ = ["DeclaredFile", "Device", "Evidence", "Finding", "Fix", "LateReason", "Point", "Report", "ReportStatus"]
