"""Data migrations of reports (run by ``inspectctl migrate``; see domain/migrations.py)."""
from __future__ import annotations

from .. import storage
from ..access import SYSTEM
from .models import Report
from .rules import new_finding_id

# Reports with findings; which of them lack ids is decided here, not in the query: SecantusDB refuses
# ``$or`` inside ``$elemMatch``, and this runs on development data only.
_WITH_FINDINGS = {"findings": {"$ne": []}}


def add_finding_ids() -> dict:
    """Give every finding that has none a random server id, one report per transaction with its audit
    event. Ids already given are never changed, so a second run finds nothing to do. A report is
    rewritten only if its revision did not move meanwhile; one that moved is picked up by the next run."""
    counts = {"reports": 0, "findings": 0, "skipped": 0}
    for raw in Report._get_collection().find(_WITH_FINDINGS, {"_id": 1, "rev": 1, "findings": 1, "office": 1,
                                                           "target_unit": 1}):
        findings = raw["findings"]
        added = [n for n, f in enumerate(findings) if f.get("id") is None]
        if not added:
            continue
        for n in added:
            findings[n] = {**findings[n], "id": new_finding_id()}

        def work(tx: storage.Tx) -> bool:
            done = tx.collection(Report).update_one(
                {"_id": raw["_id"], "rev": raw.get("rev")},
                {"$set": {"findings": findings}, "$inc": {"rev": 1}}, session=tx.session)
            if done.matched_count != 1:
                return False
            tx.audit(SYSTEM, "report.finding-ids-added", target_type="report", target_id=raw["_id"],
                     chain=str(raw["office"]), target_unit=raw.get("target_unit"),
                     after={"findings": [str(findings[n]["id"]) for n in added]})
            return True

        if storage.atomic(work):
            counts["reports"] += 1
            counts["findings"] += len(added)
        else:
            counts["skipped"] += 1
    return counts
