"""Periodic sweeps for ``rq cron workers.cron``; the workers run them.

Intervals are short because the sweeps are cheap and idempotent: an empty outbox
sweep is one indexed query.
"""
from rq import cron

from . import outbox

cron.register(outbox.dispatch_outbox, "default", interval=5, job_timeout=120, result_ttl=60)
