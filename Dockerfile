# syntax=docker/dockerfile:1
# One image for every program of the service; docker-compose.yml picks the command
# (api: gunicorn, worker: rq worker, scheduler: rq cron, prepare: python -m ops.prepare).
# Production runs it against a MongoDB replica set and a Redis server, never the embedded
# servers the package also ships for `make run` (APP_ENV=production refuses them).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api/ api/
COPY domain/ domain/
COPY workers/ workers/
COPY ops/ ops/
COPY inspection_forms/ inspection_forms/
# Wheels for the project and every dependency, so the runtime stage installs offline.
RUN pip wheel --wheel-dir /wheels .


FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    DATA_DIR=/data \
    API_BIND=0.0.0.0:8000

# A fixed, unprivileged uid/gid, so volumes can be prepared for it on the host.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin app \
 && mkdir -p /data /audit-heads \
 && chown app:app /data /audit-heads

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels inspection-backend

# The code lives in site-packages only: nothing in the working directory shadows it.
WORKDIR /srv
USER app:app
VOLUME ["/data"]
EXPOSE 8000

# Liveness only: /readyz would mark the API unhealthy while Redis or the workers are down,
# although intake goes on (compose then restarts nothing; the readiness page shows the cause).
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

CMD ["gunicorn", "-c", "python:ops.gunicorn_conf", "--bind", "0.0.0.0:8000", "api.wsgi:app"]
