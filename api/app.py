"""The Flask application factory: configuration, the one error mapping, blueprints, docs."""
from __future__ import annotations

from importlib.resources import files

from flask import Flask, send_from_directory

from domain import bootstrap, errors, storage
from domain.config import Settings, get_settings, set_settings

from . import body_rules, context, converters
from .problems import ProblemApi, handle_domain_error, handle_unexpected

API_PREFIX = "/api/v1"
# Swagger UI 5 (it reads OpenAPI 3.1; the 4.x of swagger-ui-bundle cannot), from an installed package.
SWAGGER_UI_ASSETS = str(files("flask_swagger_ui") / "dist")
# Sent on every response, errors and files included (docs/security.md).
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"),)


def _with_security_headers(wsgi_app):
    """Add the security headers at the WSGI edge, so that no response escapes them: not a 404 from
    routing, not a problem written by an error handler, not a file."""
    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(k, v) for k, v in SECURITY_HEADERS if k.lower() not in present]
            return start_response(status, headers, exc_info)
        return wsgi_app(environ, start)
    return app


def _blueprints():
    """Each resource is one blueprint; a new resource adds one line here."""
    from .health import blp as health
    from .auth_routes import blp as auth
    from .accounts.resources import blp as accounts
    from .units.resources import blp as units
    from .audit.resources import blp as audit
    from .forms.resources import blp as forms
    from .uploads.resources import blp as uploads
    from .tasks.resources import blp as tasks
    from .tasks.sync import blp as sync
    from .reports.resources import blp as reports
    from .evidence.resources import blp as evidence, report_blp as report_validation

    return [(health, ""), (auth, API_PREFIX), (accounts, API_PREFIX), (units, API_PREFIX), (audit, API_PREFIX),
            (forms, API_PREFIX), (uploads, API_PREFIX), (tasks, API_PREFIX), (sync, API_PREFIX),
            (reports, API_PREFIX), (evidence, API_PREFIX), (report_validation, API_PREFIX)]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    settings.check_production()
    set_settings(settings)
    context.configure_logging()

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_AS_ASCII=False,
        API_TITLE="督查移动巡查 API (Inspection backend)",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Government intranets have no internet: the docs page's assets are served from an installed package.
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "info": {"description": "所有时间为 UTC ISO 8601。错误为 RFC 9457 application/problem+json。"},
        },
    )
    app.json.ensure_ascii = False
    if settings.proxy_hops:
        # Behind N trusted reverse proxies (nginx, a load balancer): the client's address for rate
        # limits and logs comes from X-Forwarded-For, never from an untrusted client's own header.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.wsgi_app = _with_security_headers(app.wsgi_app)
    bootstrap.wire()
    if settings.mongodb_uri:
        storage.connect(settings.mongodb_uri, settings.mongodb_db)

    context.install(app)
    body_rules.install(app)
    api = ProblemApi(app)
    app.extensions["problem_api"] = api
    app.register_error_handler(errors.DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)

    from .ratelimit import configure as configure_ratelimit, limiter
    configure_ratelimit(app)
    limiter.init_app(app)

    converters.install(app, api)
    for blp, prefix in _blueprints():
        api.register_blueprint(blp, url_prefix=prefix + (blp.url_prefix or ""))

    @app.get("/docs/assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(SWAGGER_UI_ASSETS, filename, max_age=86400)
    swagger_assets._guarded = True
    swagger_assets._public = True

    if settings.redis_url:
        # The API process's adapters for the domain's queue port: the after-commit outbox kick and
        # the readiness probe of Redis, the workers and the scheduler.
        from workers.queues import connection, install_outbox_kick, queue_states

        install_outbox_kick()
        app.extensions["queue_probe"] = lambda: queue_states(connection(settings.redis_url, fast=True),
                                                             settings.worker_heartbeat_max_age)
    return app
