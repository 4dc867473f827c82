"""Periodic sweeps for ``rq cron workers.cron``; the workers run them.

Intervals are short because the sweeps are cheap and idempotent: an empty outbox
sweep is one indexed query.
"""
from rq import cron

from . import audit, evidence, outbox, uploads
from .queues import DEFAULT

# ttl: a sweep left waiting (workers down) is dropped; the next one does the same work, so
# a long outage does not leave hundreds of sweeps queued.
cron.register(outbox.dispatch_outbox, DEFAULT, interval=5, job_timeout=120, result_ttl=60, ttl=30)
# Exported heads bound how much history could be cut off the end of a chain unseen: 10 minutes.
cron.register(audit.export_audit_heads, DEFAULT, interval=600, job_timeout=300, result_ttl=3600, ttl=600)
cron.register(uploads.expire_uploads, DEFAULT, interval=900, job_timeout=600, result_ttl=3600, ttl=600)  # tus expiry
# A verdict job lost after its dispatch (or failed for good) is queued again; see STALLED_AFTER.
cron.register(evidence.requeue_stalled_verdicts, DEFAULT, interval=300, job_timeout=300, result_ttl=3600, ttl=300)
