"""gunicorn settings shared by `make run` and the Docker image.

gthread: uploads stream for seconds on slow phone links; threads keep one slow client
from blocking a whole worker process. Its subclass ``ops.gunicorn_worker.SlowClientWorker``
reads request heads and small bodies before a thread is taken, times out silent clients
(``API_CLIENT_TIMEOUT``, 15 s) and keeps threads for non-upload routes (docs/deployment.md).
"""
import os

bind = os.environ.get("API_BIND", "127.0.0.1:8000")
worker_class = "ops.gunicorn_worker.SlowClientWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("API_THREADS", "8"))
timeout = int(os.environ.get("API_TIMEOUT", "120"))
graceful_timeout = 20
keepalive = 5
accesslog = None  # the app writes its own JSON access line with the request id
errorlog = "-"
# The worker heartbeat file: on a container's overlay filesystem its writes can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Refused as problem+json by the worker: a request line over 4 KiB; a header field over 8 KiB
# (the worker also refuses a header block over 8 KiB before any thread sees it).
limit_request_line = 4094
limit_request_field_size = 8190
