"""ops/nginx/nginx.conf: `nginx -t` on a copy rendered with 127.0.0.1 upstreams (where nginx is
installed), and the settings that keep slow clients away from the API's threads."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "ops" / "nginx" / "nginx.conf"


def render(text: str, tmp: Path, upstream_port: int | None = None, listen: int | None = None) -> Path:
    """The config as a test machine can load it: upstreams on 127.0.0.1 (compose's names do not resolve
    here), optionally another upstream port and listening port, the pid file under ``tmp``."""
    port = str(upstream_port) if upstream_port else r"\1"
    rendered = re.sub(r"server\s+[a-z][\w.-]*:(\d+);", f"server 127.0.0.1:{port};", text)
    rendered = rendered.replace("pid /tmp/nginx.pid;", f"pid {tmp}/nginx.pid;")
    if listen:
        rendered = rendered.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    path = tmp / "nginx.conf"
    path.write_text(rendered)
    return path


def nginx_binary() -> str:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed here (apt-get install -y nginx to run this check)")
    return nginx


def nginx_t(path: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([nginx_binary(), "-t", "-q", "-c", str(path), "-p", f"{tmp}/", "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)


def location(text: str, prefix: str) -> str:
    match = re.search(r"location\s+" + re.escape(prefix) + r"\s*\{(.*?)\}", text, re.S)
    assert match, f"no location {prefix}"
    return match.group(1)


def test_nginx_accepts_the_config_rendered_with_local_upstreams(tmp_path):
    done = nginx_t(render(CONF.read_text(), tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr


def test_nginx_t_would_catch_a_broken_config(tmp_path):
    broken = CONF.read_text().replace("proxy_request_buffering off;", "proxy_request_buffering sometimes;")
    assert nginx_t(render(broken, tmp_path), tmp_path).returncode != 0


def test_every_client_wait_is_bounded_and_only_uploads_stream_through():
    text = CONF.read_text()
    for directive in ("client_header_timeout 15s;", "client_body_timeout 15s;", "send_timeout 30s;",
                      "keepalive_timeout 15s;"):
        assert directive in text
    uploads = location(text, "/api/v1/uploads")
    assert "proxy_request_buffering off;" in uploads and "client_body_timeout" in uploads
    assert text.count("proxy_request_buffering off;") == 1, "every other route is read whole before the API sees it"
    assert "server api:8000;" in text, "the compose service name"
