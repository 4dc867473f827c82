"""Behind a trusted reverse proxy the client address comes from X-Forwarded-For; otherwise never."""
import dataclasses

import pytest
from flask import request

from api.app import create_app
from domain.config import set_settings


def address_seen(settings, proxy_hops: int) -> str:
    """The client address a view sees for a request from 10.0.0.2 claiming to forward 203.0.113.7."""
    app = create_app(dataclasses.replace(settings, proxy_hops=proxy_hops))
    set_settings(settings)  # create_app made the variant the process's settings
    seen = {}

    @app.get("/probe-addr")
    def probe_addr():
        seen["addr"] = request.remote_addr
        return {}

    app.test_client().get("/probe-addr", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                          headers={"X-Forwarded-For": "203.0.113.7"})
    return seen["addr"]


@pytest.mark.parametrize("hops,expected", [(1, "203.0.113.7"), (0, "10.0.0.2")],
                         ids=["behind-one-trusted-proxy", "no-proxy-the-header-is-ignored"])
def test_the_client_address_comes_from_the_proxy_only_when_one_is_trusted(settings, hops, expected):
    assert address_seen(settings, hops) == expected
