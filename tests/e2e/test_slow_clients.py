"""Slow clients cannot freeze the API: real gunicorn (ops/gunicorn_conf.py, 2 workers x 8 threads) with
hundreds of stalled and trickling sockets open, and the heads it refuses answered as problem+json;
then nginx (ops/nginx/nginx.conf) in front of it, where nginx is installed."""
import json
import os
import shutil
import socket
import threading

import psutil
import pytest
import requests

from ops.embedded import free_port
from tests.api.test_uploads_tus import CORPUS, KIND, OCTETS, TUS, URL, _service_env, create_headers, sha
from tests.e2e.harness import gunicorn, start_program, stop_program, wait_for
from tests.ops.test_nginx import CONF, nginx_binary, render

CLIENT_TIMEOUT = 8  # seconds (API_CLIENT_TIMEOUT); production runs 15
STALLED = TRICKLING = 200


@pytest.fixture(autouse=True)
def no_files_left(settings):
    yield
    for sub in ("blobs", "uploads"):
        shutil.rmtree(settings.data_dir / sub, ignore_errors=True)


@pytest.fixture(scope="module")
def api(settings, tmp_path_factory):
    log = tmp_path_factory.mktemp("slow-clients") / "gunicorn.log"
    with gunicorn("tests.api.test_uploads_tus:server_app()", _service_env(settings), log, WEB_CONCURRENCY="2",
                  API_THREADS="8", API_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT)) as (base, master):
        yield base, master


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _established(master) -> int:
    """Client connections the workers have accepted (sockets still in the listen backlog do not count)."""
    return sum(1 for worker in psutil.Process(master.pid).children() for c in worker.net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.raddr)


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


LOGIN_HEAD = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n")


def test_healthz_answers_while_hundreds_of_stalled_and_trickling_sockets_are_open(api):
    base, master = api
    socks: list[socket.socket] = []
    stop = threading.Event()
    try:
        stalled_heads = [_connect(base) for _ in range(STALLED // 2)]
        for s in stalled_heads:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n")  # ... and the head never ends
        stalled_bodies = [_connect(base) for _ in range(STALLED // 2)]
        for s in stalled_bodies:
            s.sendall(LOGIN_HEAD + b"{")  # one byte of a 100-byte body, no login needed
        trickling_heads = [_connect(base) for _ in range(TRICKLING // 2)]
        trickling_bodies = [_connect(base) for _ in range(TRICKLING // 2)]
        for s in trickling_bodies:
            s.sendall(LOGIN_HEAD)
        socks = stalled_heads + stalled_bodies + trickling_heads + trickling_bodies
        head_bytes = b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Padding: " + b"a" * 4000

        def trickle():
            i = 0
            while not stop.wait(0.5):  # a byte per socket per round: the clock never runs out between bytes
                for s in trickling_heads:
                    try:
                        s.send(head_bytes[i:i + 1])
                    except OSError:
                        pass
                for s in trickling_bodies:
                    try:
                        s.send(b" ")
                    except OSError:
                        pass
                i += 1

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        wait_for(lambda: _established(master) >= len(socks), 30, "the workers to accept every slow socket")
        for _ in range(10):
            r = requests.get(base + "/healthz", timeout=10)
            assert r.status_code == 200 and r.json() == {"status": "ok"}
            r = requests.post(base + "/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password"},
                              timeout=10)
            # 401, or 429 once the log-in back-off for this address starts: answered either way.
            assert r.status_code in (401, 429) and r.headers["Content-Type"].startswith("application/problem+json"), \
                "a route with a body is answered too"
        stop.set()
        trickler.join(5)
        # Silent clients are closed once CLIENT_TIMEOUT passes; a trickled head is closed too, bytes or not.
        for s in stalled_heads + stalled_bodies + trickling_heads:
            assert _closed_by_server(s)
    finally:
        stop.set()
        for s in socks:
            s.close()


def test_stalled_uploads_fill_only_the_streaming_threads_and_other_routes_still_answer(api, world):
    base, _ = api
    data = b"\xff\xd8\xff" + b"x" * 100_000
    auth = {**world.headers("inspector_east"), **TUS}
    stalled = []
    try:
        for _ in range(14):  # 2 workers x (8 - 2 reserved) streaming threads, and 2 that must queue
            created = requests.post(base + URL, headers=create_headers(world, data), timeout=10)
            assert created.status_code == 201, created.text
            head = (f"PATCH {created.headers['Location']} HTTP/1.1\r\nHost: api\r\n"
                    f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                    f"Content-Length: {len(data)}\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in auth.items()) + "\r\n")
            s = _connect(base)
            s.sendall(head.encode() + data[:10])
            stalled.append(s)
        for _ in range(10):
            assert requests.get(base + "/healthz", timeout=10).status_code == 200
            assert requests.get(base + URL + "/" + "0" * 24, headers=auth, timeout=10).status_code == 404
    finally:
        for s in stalled:
            s.close()


def _raw(base: str, request: bytes) -> tuple[bytes, dict]:
    with _connect(base) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return head, json.loads(body)


def test_a_request_line_over_4_kb_is_a_problem_in_chinese(api):
    head, body = _raw(api[0], b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: api\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/problem+json" in head
    assert body["code"] == "request.line-too-long" and body["status"] == 400 and body["title"] == "请求行过长"


def test_headers_over_8_kb_are_a_431_problem_in_english_when_asked(api):
    fields = b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 1000) for i in range(10))
    head, body = _raw(api[0], b"GET /healthz HTTP/1.1\r\nHost: api\r\nAccept-Language: en\r\n" + fields + b"\r\n")
    assert head.startswith(b"HTTP/1.1 431") and b"Content-Type: application/problem+json" in head
    assert body["code"] == "request.headers-too-large" and body["title"] == "Request headers too large"


def test_an_unparsable_head_is_a_400_problem(api):
    head, body = _raw(api[0], b"GET /healthz HTTP/1.1\r\nHost: api\r\nno colon here\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and body["code"] == "request.unparsable"
    assert body["detail"] == "请求不符合 HTTP/1.1 格式，服务器未处理该请求。"


def test_keep_alive_and_pipelined_requests_still_work(api):
    base, _ = api
    with requests.Session() as session:  # one connection, several requests
        for _ in range(3):
            assert session.get(base + "/healthz", timeout=10).status_code == 200
    with _connect(base) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n" * 2 + b"GET /healthz HTTP/1.1\r\nHost: api\r\n"
                  b"Connection: close\r\n\r\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.count(b"HTTP/1.1 200") == 3


@pytest.fixture(scope="module")
def proxy(api, tmp_path_factory):
    """nginx with ops/nginx/nginx.conf in front of the module's gunicorn (skipped where nginx is absent)."""
    nginx = nginx_binary()
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = render(CONF.read_text(), tmp, upstream_port=int(api[0].rsplit(":", 1)[1]), listen=port)
    proc = start_program([nginx, "-c", str(conf), "-p", f"{tmp}/", "-e", "stderr", "-g", "daemon off;"],
                         dict(os.environ), tmp / "nginx.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is None and requests.get(base + "/healthz", timeout=5).ok, 30,
                 "nginx to proxy /healthz")
        yield base
    finally:
        stop_program(proc)


def test_through_nginx_a_cut_off_patch_keeps_its_bytes_and_a_stock_client_finishes_the_upload(proxy, world, tmp_path):
    from tusclient.client import TusClient

    photo = CORPUS / "jpg" / "hdr" / "iphone_hdr_NO.jpg"
    data = photo.read_bytes()
    auth = {**world.headers("inspector_east"), **TUS}
    created = requests.post(proxy + URL, headers=create_headers(world, data), timeout=10)
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    head = (f"PATCH {location} HTTP/1.1\r\nHost: api\r\nUpload-Offset: 0\r\nContent-Length: {len(data)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in {**auth, **OCTETS}.items()) + "\r\n")
    with _connect(proxy) as s:  # the phone loses its link half-way through the body
        s.sendall(head.encode() + data[:len(data) // 2])

        def offset():
            return int(requests.head(proxy + location, headers=auth, timeout=5).headers["Upload-Offset"])
        # A proxy that buffered the body would pass on nothing of a body that never ends.
        wait_for(lambda: offset() >= 256 * 1024, 20, "the streamed bytes to reach the partial file")
    wait_for(lambda: requests.patch(proxy + location, data=b"", timeout=5, headers={
        **auth, **OCTETS, "Upload-Offset": str(offset())}).status_code == 204, 30, "the cut-off PATCH to end")
    uploader = TusClient(proxy + URL, headers=world.headers("inspector_east")).uploader(
        file_path=str(photo), url=proxy + location, chunk_size=len(data), retries=0,
        metadata={"target": KIND, "sha256": sha(data)})
    assert uploader.offset >= 256 * 1024
    uploader.upload()
    assert requests.get(proxy + location, headers=auth, timeout=10).json()["blob_sha256"] == sha(data)


def test_through_nginx_a_json_route_answers_while_slow_clients_wait_at_the_proxy(proxy):
    slow = [_connect(proxy) for _ in range(50)]
    try:
        for s in slow:
            s.sendall(LOGIN_HEAD + b"{")
        r = requests.post(proxy + "/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password"},
                          timeout=10)
        assert r.status_code == 401 and r.headers["Content-Type"].startswith("application/problem+json")
    finally:
        for s in slow:
            s.close()
