"""An RFC 3161 endpoint on the loopback interface for c2pa-rs to post to while signing.

c2pa-rs time-stamps image signatures itself, by HTTP, given a URL. This responder is that
URL: it answers with the store's own authority (no network) or relays to an external one
and checks its answer first (status, nonce, message imprint, certificate), so a wrong
answer fails the signing with the reason, never an unstamped or badly stamped file. It
binds 127.0.0.1 on a free port and lives as long as the signer that started it.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import threading
from typing import Any

from provenance.errors import TimeStampError

from .authority import Authority
from .protocol import check_response, parse_request

log = logging.getLogger(__name__)

_MAX_REQUEST = 64 * 1024


class LoopbackResponder:
    """Serves ``authority`` at ``url`` until ``close()``; ``errors`` keeps why a request
    failed, for the signer to report instead of c2pa-rs's generic message."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.errors: list[TimeStampError] = []
        self.stamps = 0
        responder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # Headers and body go out as two writes; with Nagle's algorithm the second
            # waits for a delayed ACK (tens of milliseconds a signature on Linux).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                responder._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("time-stamp responder: " + format, *args)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="tsa-responder", daemon=True
        )
        self._thread.start()

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        try:
            length = int(handler.headers.get("Content-Length") or 0)
            if not 0 < length <= _MAX_REQUEST:
                raise TimeStampError("the time-stamp request is empty or too large")
            request = parse_request(handler.rfile.read(length))
            answer = self.authority.answer(request)
            if not self.authority.self_checked:
                check_response(answer, request)
        except TimeStampError as exc:
            self.errors.append(TimeStampError(f"{self.authority.name}: {exc}"))
            handler.send_error(500, "time-stamp failed")
            return
        except Exception as exc:
            self.errors.append(TimeStampError(f"{self.authority.name}: {exc}"))
            handler.send_error(500, "time-stamp failed")
            return
        self.stamps += 1
        handler.send_response(200)
        handler.send_header("Content-Type", "application/timestamp-reply")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown()
            self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackResponder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
