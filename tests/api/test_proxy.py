"""Behind a trusted reverse proxy the client address comes from X-Forwarded-For; otherwise never."""
import dataclasses

from flask import request

from api.app import create_app
from domain.config import set_settings


def test_one_trusted_proxy_hands_over_the_client_address(settings):
    # ProxyFix wraps wsgi_app, so go through it the way a server does
    app = create_app(dataclasses.replace(settings, proxy_hops=1))
    set_settings(settings)
    seen = {}

    @app.get("/probe-addr")
    def probe_addr():
        seen["addr"] = request.remote_addr
        return {}
    probe_addr._guarded = True
    app.test_client().get("/probe-addr", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                          headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen["addr"] == "203.0.113.7"


def test_without_a_proxy_a_client_cannot_choose_its_address(settings):
    app = create_app(dataclasses.replace(settings, proxy_hops=0))
    set_settings(settings)
    seen = {}

    @app.get("/probe-addr")
    def probe_addr():
        seen["addr"] = request.remote_addr
        return {}
    probe_addr._guarded = True
    app.test_client().get("/probe-addr", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                          headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen["addr"] == "10.0.0.2"
