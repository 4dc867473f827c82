"""gunicorn's gthread worker, hardened against slow clients (docs/deployment.md, "Slow clients").

gthread waits for a connection in a selector until it is readable, then hands it to a thread
that parses the request and runs the app; a client that sends a header and then nothing held
that thread for as long as it liked. This worker:

- reads request heads in its main loop (non-blocking), and gives a thread only a complete head:
  a head must arrive within ``CLIENT_TIMEOUT`` seconds of the first byte;
- reads small bodies of non-upload routes in the main loop too, with an idle timeout of
  ``CLIENT_TIMEOUT`` between bytes, so a trickling JSON body holds no thread;
- streams upload bodies (``STREAM_PREFIXES``, large or chunked bodies) in a thread as before,
  each read waiting at most ``CLIENT_TIMEOUT``, on at most ``threads - RESERVED`` threads at once:
  the rest are kept for non-upload routes;
- answers a head it refuses (request line over 4 KiB, header block over 8 KiB, unparsable) as
  problem+json with a stable code and zh-CN text (English on ``Accept-Language: en``).

``CLIENT_TIMEOUT`` (``API_CLIENT_TIMEOUT``, 15 s) is also how long a silent phone keeps its tus
upload locked before another request can resume it.
"""
from __future__ import annotations

import errno
import json
import os
import re
import selectors
import threading
import time
from collections import deque
from functools import partial

from gunicorn.http import errors as http_errors
from gunicorn.http.body import LengthReader
from gunicorn.workers.gthread import TConn, ThreadWorker

CLIENT_TIMEOUT = float(os.environ.get("API_CLIENT_TIMEOUT", "15"))
BUFFER_MAX = 256 * 1024  # a non-upload body up to this size is read before a thread is taken
HEADERS_MAX = 8 * 1024  # header fields after the request line, in bytes (nginx's default buffer size)
STREAM_PREFIXES = ("/api/v1/uploads",)  # bodies that stream to disk: never buffered (a cut-off PATCH keeps its bytes)
PROBLEM_TYPE_BASE = "https://errors.inspection.gov.cn/"

# code -> (status, reason); the texts are in api/messages/*/server.po.
CODES = {
    "request.line-too-long": (400, "Bad Request"),
    "request.headers-too-large": (431, "Request Header Fields Too Large"),
    "request.unparsable": (400, "Bad Request"),
}
_ENGLISH = re.compile(rb"\r\naccept-language:[ \t]*en", re.IGNORECASE)


def _reserved(threads: int) -> int:
    return int(os.environ.get("API_RESERVED_THREADS", max(1, threads // 4)))


def refusal_code(exc: BaseException) -> str | None:
    """The problem code for a request head gunicorn's parser (or this worker) refused; None for anything else."""
    if isinstance(exc, http_errors.LimitRequestLine):
        return "request.line-too-long"
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return "request.headers-too-large"
    if isinstance(exc, (http_errors.ParseException, http_errors.InvalidChunkSize, http_errors.ChunkMissingTerminator)) \
            and not isinstance(exc, (http_errors.UnsupportedTransferCoding, http_errors.ForbiddenProxyRequest,
                                     http_errors.ConfigurationProblem)):
        return "request.unparsable"
    return None


def problem_response(code: str, english: bool = False) -> bytes:
    """A whole HTTP/1.1 response (connection closed) carrying the problem ``code``."""
    from api.messages import text

    status, reason = CODES[code]
    lang = "en" if english else "zh_CN"
    title = text(lang, f"{code}|title") or reason
    body = json.dumps({"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status,
                       "detail": text(lang, f"{code}|detail") or title, "code": code},
                      ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Language: {'en' if english else 'zh-CN'}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class _Pending:
    """What the main loop knows of a connection whose request is still arriving."""

    __slots__ = ("buf", "deadline", "head_end", "need", "stream", "refusal", "english")

    def __init__(self, data: bytes = b""):
        self.buf = bytearray(data)
        self.deadline = time.monotonic() + CLIENT_TIMEOUT
        self.head_end = -1  # index past the blank line, once the head is complete
        self.need = 0  # bytes (head + body) to hold before a thread is taken
        self.stream = False
        self.refusal: BaseException | None = None
        self.english = False


class SlowClientWorker(ThreadWorker):
    """gthread whose threads never wait for a request head, nor for a small body (see the module doc)."""

    @classmethod
    def check_config(cls, cfg, log):
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError("SlowClientWorker reads raw bytes in its main loop: terminate TLS in nginx")

    def init_process(self):
        self._pending: dict[TConn, _Pending] = {}
        self._queued_streams: deque[TConn] = deque()
        self._streams = 0
        self.stream_slots = max(1, self.cfg.threads - _reserved(self.cfg.threads))
        self._local = threading.local()
        super().init_process()

    # --- the main loop: gather a request before a thread is taken -----------------------------------

    def accept(self, server, listener):
        try:
            sock, client = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        self._gather(conn, _Pending())

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has bytes again: gather its next request like a new one."""
        with self._lock:
            self.poller.unregister(client)
            try:
                self._keep.remove(conn)
            except ValueError:
                return  # murdered meanwhile
        leftover = b""
        if conn.parser is not None:  # pipelined bytes the previous request left in the parser's buffer
            leftover = conn.parser.unreader.buf.getvalue()
            conn.parser.unreader.buf.seek(0)
            conn.parser.unreader.buf.truncate()
        conn.sock.setblocking(False)
        self._gather(conn, _Pending(leftover))
        self._on_bytes(conn, conn.sock)

    def _gather(self, conn, pending):
        with self._lock:
            self._pending[conn] = pending
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn, _sock):
        with self._lock:  # a finishing thread may be gathering this connection's pipelined request
            pending = self._pending.get(conn)
            if pending is None:
                return
            try:
                data = conn.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the client went away before its request was complete
                self._forget(conn)
                return
            pending.buf += data
            if pending.head_end >= 0:  # body bytes: the idle clock restarts
                pending.deadline = time.monotonic() + CLIENT_TIMEOUT
            self._advance(conn, pending)

    def _advance(self, conn, pending):
        buf = pending.buf
        if pending.head_end < 0:
            line_end = buf.find(b"\r\n")
            limit = self.cfg.limit_request_line
            if (line_end < 0 and len(buf) > limit + 2) or line_end > limit:
                pending.refusal = http_errors.LimitRequestLine(max(line_end, len(buf)), limit)
                return self._dispatch(conn, pending)
            end = buf.find(b"\r\n\r\n")
            headers_size = (end if end >= 0 else len(buf)) - max(line_end, 0)
            if line_end >= 0 and headers_size > HEADERS_MAX:
                pending.refusal = http_errors.LimitRequestHeaders(f"header block over {HEADERS_MAX} bytes")
                return self._dispatch(conn, pending)
            if end < 0:
                return None
            pending.head_end = end + 4
            self._plan(conn, pending)
            pending.deadline = time.monotonic() + CLIENT_TIMEOUT
        if pending.stream or len(buf) >= pending.need:
            return self._dispatch(conn, pending)
        return None

    def _plan(self, conn, pending):
        """Stream or buffer, from the head alone (a malformed head is left to gunicorn's parser)."""
        head = bytes(pending.buf[:pending.head_end])
        request_line, _, fields = head.partition(b"\r\n")
        parts = request_line.split(b" ")
        target = parts[1] if len(parts) == 3 else b"/"
        if b"://" in target:
            target = b"/" + target.split(b"://", 1)[1].partition(b"/")[2]
        path = target.partition(b"?")[0].decode("latin-1")
        length, chunked, expect = 0, False, False
        for line in fields.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value) if value.isdigit() else 0
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"expect" and value == b"100-continue":
                expect = True
        pending.stream = path.startswith(STREAM_PREFIXES) or chunked or length > BUFFER_MAX
        pending.need = pending.head_end + length
        if not pending.stream and expect and length and len(pending.buf) < pending.need:
            try:  # the client waits for this before it sends the body we mean to buffer
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass

    def _forget(self, conn):
        with self._lock:
            self._pending.pop(conn, None)
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        self.nr_conns -= 1
        conn.close()

    def _dispatch(self, conn, pending):
        conn.pending = pending
        conn.streaming = pending.stream and not pending.refusal
        with self._lock:
            self._pending.pop(conn, None)
            self.poller.unregister(conn.sock)
            if conn.streaming:
                if self._streams >= self.stream_slots:
                    self._queued_streams.append(conn)  # its bytes wait in the kernel until a streaming thread frees
                    return
                self._streams += 1
        self._submit(conn)

    def _submit(self, conn):
        pending = conn.pending
        pending.english = bool(_ENGLISH.search(pending.buf, 0, pending.head_end if pending.head_end > 0 else len(pending.buf)))
        data, pending.buf = bytes(pending.buf), None
        conn.init()
        conn.sock.settimeout(CLIENT_TIMEOUT)  # every read and write of the thread waits at most this long
        conn.parser.unreader.unread(data)
        fs = self.tpool.submit(self.handle, conn)
        self._wrap_future(fs, conn)

    def murder_keepalived(self):
        super().murder_keepalived()
        now = time.monotonic()
        with self._lock:
            late = [c for c, p in self._pending.items() if p.deadline < now]
        for conn in late:  # silent too long: close without an answer, as for an idle keep-alive
            self._forget(conn)

    def finish_request(self, fs):
        conn, next_stream = fs.conn, None
        if getattr(conn, "streaming", False):  # runs in the thread that finished: count under the lock
            with self._lock:
                conn.streaming = False
                if self._queued_streams:
                    next_stream = self._queued_streams.popleft()  # takes over this streaming slot
                else:
                    self._streams -= 1
        if self._pipelined(fs):
            leftover = conn.parser.unreader.buf.getvalue()
            conn.parser.unreader.buf.seek(0)
            conn.parser.unreader.buf.truncate()
            conn.sock.setblocking(False)
            with self._lock:  # the next request is here already: no readable event will announce it
                pending = _Pending(leftover)
                self._gather(conn, pending)
                self._advance(conn, pending)
        else:
            super().finish_request(fs)
        if next_stream is not None:
            self._submit(next_stream)

    def _pipelined(self, fs) -> bool:
        if fs.cancelled() or fs.exception() is not None or not self.alive:
            return False
        keepalive, conn = fs.result()
        return bool(keepalive and conn.parser is not None and conn.parser.unreader.buf.getbuffer().nbytes)

    # --- in a thread --------------------------------------------------------------------------------

    def handle(self, conn):
        pending = conn.pending
        self._local.conn = conn
        if pending.refusal is not None:
            self.handle_error(None, conn.sock, conn.client, pending.refusal)
            return False, conn
        keepalive, conn = super().handle(conn)
        if keepalive:
            keepalive = self._body_consumed(conn)
        return keepalive, conn

    def _body_consumed(self, conn) -> bool:
        """Keep the connection only if the request's body is behind us without waiting on the client:
        a buffered body is drained from memory; a streamed one the app left unread closes it."""
        body = conn.parser.mesg.body if conn.parser.mesg else None
        if body is None:
            return True
        reader = body.reader
        if not conn.pending.stream:
            while body.read(65536):
                pass
            return True
        return isinstance(reader, LengthReader) and reader.length == 0 and body.buf.tell() == 0

    def handle_request(self, req, conn):
        try:
            return super().handle_request(req, conn)
        except TimeoutError as exc:  # a client silent past CLIENT_TIMEOUT: a dropped connection, not a server fault
            raise ConnectionResetError(errno.ECONNRESET, "client idle past the timeout") from exc

    def handle_error(self, req, client, addr, exc):
        code = refusal_code(exc)
        if code is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s (%s)", (addr or ("",))[0], exc, code)
        conn = getattr(self._local, "conn", None)
        english = bool(conn is not None and conn.sock is client and conn.pending.english)
        try:
            client.settimeout(2)
            client.sendall(problem_response(code, english))
        except OSError:
            self.log.debug("Failed to send error message.")
        return None
