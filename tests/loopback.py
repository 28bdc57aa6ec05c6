"""A loopback HTTP server with injectable faults, shared by the acquisition and end-to-end tests.

`LoopbackServer` serves a directory (plus in-memory routes) on 127.0.0.1, honours
`Range: bytes=N-` with 206 + Content-Range, and per path can: return a status
(401/403/404/500) for the next `times` requests, cut a transfer after N bytes, flip a
byte, ignore Range, throttle or drip (`chunk_size` bytes every `chunk_delay` seconds),
send far more bytes than the file holds (`pad_to`), or omit Content-Length (the body then
ends when the connection closes). It records every request (path, Range header, status,
bytes sent, whether an Authorization header came) so tests can assert on the wire.
`start_server(root)` / `stop_server(srv)` run one in a daemon thread.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Fault:
    status: int | None = None  # answer with this status instead of the file
    times: int = 1_000_000  # how many requests the fault applies to
    cut_after: int | None = None  # send full headers but only this many body bytes, then close
    flip_byte: int | None = None  # offset of a byte to corrupt
    ignore_range: bool = False  # answer 200 with the whole file even when asked for a range
    chunk_delay: float = 0.0  # seconds between chunks (to force overlap, or a slow drip)
    chunk_size: int = 65536  # bytes per chunk
    pad_to: int | None = None  # append zero bytes until the body is this long (an oversized answer)
    no_length: bool = False  # send no Content-Length; close the connection after the body


@dataclass
class Record:
    path: str
    range: str | None
    status: int
    bytes_sent: int
    authorization: bool


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.routes: dict[str, bytes] = {}
        self.faults: dict[str, Fault] = {}
        self.records: list[Record] = []
        self.lock = threading.Lock()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (e.g. after a 401, or on a kept-alive connection) is not an error.

        socketserver would print its traceback to stderr from the handler thread, where it can
        land in whatever output a test is capturing at that moment.
        """
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def fault(self, path: str, **kw) -> Fault:
        self.faults["/" + path.lstrip("/")] = f = Fault(**kw)
        return f

    def requests_for(self, path: str) -> list[Record]:
        path = "/" + path.lstrip("/")
        with self.lock:
            return [r for r in self.records if r.path == path]

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            f = self.faults.get(path)
            if f is None or f.times <= 0:
                return None
            f.times -= 1
            return f

    def _record(self, rec: Record) -> None:
        with self.lock:
            self.records.append(rec)


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = unquote(urlsplit(self.path).path)
        rng = self.headers.get("Range")
        auth = self.headers.get("Authorization") is not None
        fault = self.server._take_fault(path) or Fault(times=0)
        if fault.status is not None:
            return self._answer(path, rng, auth, fault.status, b"fault\n", {})
        body = self._content(path)
        if body is None:
            return self._answer(path, rng, auth, 404, b"not found\n", {})
        if fault.flip_byte is not None:
            body = bytearray(body)
            body[fault.flip_byte] ^= 0xFF
            body = bytes(body)
        if fault.pad_to is not None and fault.pad_to > len(body):
            body += bytes(fault.pad_to - len(body))
        status, headers = 200, {}
        if rng and not fault.ignore_range and rng.startswith("bytes="):
            start_s, _, end_s = rng[6:].partition("-")
            start, end = int(start_s), int(end_s) if end_s else len(body) - 1
            if start >= len(body):
                return self._answer(path, rng, auth, 416, b"", {"Content-Range": f"bytes */{len(body)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            body, status = body[start:end + 1], 206
        self._answer(path, rng, auth, status, body, headers, fault)

    def _content(self, path: str) -> bytes | None:
        if path in self.server.routes:
            return self.server.routes[path]
        target = (self.server.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.server.root.resolve()) or not target.is_file():
            return None
        return target.read_bytes()

    def _answer(self, path, rng, auth, status, body, headers, fault: Fault | None = None) -> None:
        # Record before sending, and count bytes before writing them, so that a client that
        # has seen the response always finds it in the log (no race with the assertions).
        rec = Record(path, rng, status, 0, auth)
        self.server._record(rec)
        self.send_response(status)
        if fault is not None and fault.no_length:
            self.close_connection = True
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        limit = len(body) if fault is None or fault.cut_after is None else min(fault.cut_after, len(body))
        size = 65536 if fault is None else fault.chunk_size
        try:
            while rec.bytes_sent < limit:
                chunk = body[rec.bytes_sent:min(limit, rec.bytes_sent + size)]
                rec.bytes_sent += len(chunk)
                self.wfile.write(chunk)
                if fault is not None and fault.chunk_delay:
                    time.sleep(fault.chunk_delay)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if limit < len(body):
            self.close_connection = True


def start_server(root: Path) -> LoopbackServer:
    """Serve `root` on 127.0.0.1 (a free port) from a daemon thread."""
    srv = LoopbackServer(Path(root))
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return srv


def stop_server(srv: LoopbackServer) -> None:
    srv.shutdown()
    srv.server_close()
