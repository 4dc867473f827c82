"""The /docs page renders this API's OpenAPI 3.1 document in a real (headless) browser."""
from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH: install Debian's `chromium` (apt-get install chromium; .ci/run does it as root)")


@pytest.fixture
def served_app(app):
    """The app on a real local socket, so the browser fetches the page, its assets and /openapi.json."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def render(url: str, tmp_path, *extra: str) -> str:
    """The DOM once the page's scripts have run (virtual time lets fetch and rendering finish)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", *extra, url],
        capture_output=True, text=True, timeout=120, check=False)
    return result.stdout


def test_docs_page_renders_the_openapi_document_with_its_operations_in_chromium(served_app, app, tmp_path):
    spec = app.test_client().get("/openapi.json").get_json()
    dom = render(f"{served_app}/docs", tmp_path, "--dump-dom")

    assert "Unable to render this definition" not in dom
    assert "opblock" in dom, dom[-2000:]
    # Every tag's section and a sample of operations are listed (Swagger UI shows each path).
    for tag in ("tasks", "reports", "evidence"):
        assert f'id="operations-tag-{tag}"' in dom, tag
    for path in ("/api/v1/sync/tasks", "/api/v1/reports/{report_id}"):
        assert path in spec["paths"], path
        assert path.replace("{", "").replace("}", "") in dom.replace("{", "").replace("}", "").replace("\u200b", ""), path
