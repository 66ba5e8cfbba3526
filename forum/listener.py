"""The listening socket ``python -m forum`` serves on, and how gevent's server handles
each connection on it."""

from __future__ import annotations

import socket
from typing import Any


def nodelay_listener(host: str, port: int) -> socket.socket:
    """The listening socket, with Nagle's algorithm off for every connection it accepts.

    Neither eventlet's nor gevent's server turns it off (gunicorn does, for production).
    With it on, a page larger than the first segments waited ~40 ms for the client's
    delayed ACK before its last part left (docs/PERFORMANCE.md, "Pages"). Accepted
    sockets inherit the option from the listener on Linux (tests/test_listener.py)."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(address)
    listener.listen(1024)
    return listener


def gevent_handler() -> type:
    """gevent's ``pywsgi.WSGIHandler``, corrected for what ``python -m forum`` serves
    (tests/test_server_modes_live.py; imported only under gevent):

    - a WebSocket takes its connection over for good. simple-websocket writes the 101
      itself, so pywsgi never learns of the upgrade and, once the socket ended, read the
      client's last frames as the next request: an error line for each closed socket, and
      an HTTP answer to anything sent after. eventlet's server closes such a connection.
    - a request it cannot parse is answered 400 and logged without the client's address
      (pywsgi wrote ``(from ('<address>', <port>))``): no client address in any log.
    - no access-log line: pywsgi formats one per request (the client's address, the
      request line, the time) even when its log is None, and throws it away; a server
      given a log by mistake would write addresses. Neither happens.
    """
    from gevent import pywsgi

    class Handler(pywsgi.WSGIHandler):
        def run_application(self) -> None:
            try:
                super().run_application()
            finally:
                if self._taken_over():
                    self.close_connection = True

        def _taken_over(self) -> bool:
            environ: dict[str, Any] = self.environ or {}
            asked = environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            return asked and not self.headers_sent  # the app wrote its own 101

        def log_request(self) -> None:
            return  # no access log: nothing per request is formatted or written

        def _handle_client_error(self, ex: BaseException) -> tuple[str, bytes]:
            # Neither the address nor the request line (it may hold a URL).
            self.server.error_log.write(f"invalid request refused ({type(ex).__name__})\n")
            return ("400", pywsgi._BAD_REQUEST_RESPONSE)  # noqa: SLF001 - what pywsgi sends

    return Handler
