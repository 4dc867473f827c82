"""gunicorn settings shared by `make run` and the Docker image.

gthread: uploads stream for seconds on slow phone links; threads keep one slow client
from blocking a whole worker process.
"""
import os

bind = os.environ.get("API_BIND", "127.0.0.1:8000")
worker_class = "gthread"
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
