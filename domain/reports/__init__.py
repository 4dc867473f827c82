"""Reports (现场检查记录): intake of an inspector's field record and of the evidence files it declares."""
from . import intake
from .models import DeclaredFile, Device, Evidence, Finding, Fix, LateReason, Point, Report, ReportStatus

# Completed uploads whose target is "evidence" become evidence of a report (domain.uploads calls back).
intake.register()

__all__ = ["DeclaredFile", "Device", "Evidence", "Finding", "Fix", "LateReason", "Point", "Report", "ReportStatus"]
