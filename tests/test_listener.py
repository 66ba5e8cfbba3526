"""``python -m forum``'s listening socket: every accepted connection has Nagle's algorithm off.

Without it, eventlet's and gevent's servers sent the last part of a page larger than
the first TCP segments only after the client's delayed ACK (~40 ms on Linux): the
thread page's median at one connection was 88 ms for 25 ms of work. The option is set
on the listener and must reach the accepted sockets, which is what this checks.
"""

from __future__ import annotations

import socket

from forum.listener import nodelay_listener


def nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    try:
        client = socket.create_connection(listener.getsockname()[:2], timeout=5)
        accepted, _ = listener.accept()
        with client, accepted:
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        listener.close()


def test_accepted_connections_have_nagle_off() -> None:
    assert nodelay_of_an_accepted_connection(nodelay_listener("127.0.0.1", 0)) == 1


def test_a_plain_listener_would_not_turn_it_off() -> None:
    """The control: without the option on the listener, accepted sockets keep Nagle on."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    assert nodelay_of_an_accepted_connection(listener) == 0


def test_gevents_handler_formats_and_writes_no_access_line() -> None:
    """pywsgi's own handler formats an access line with the client's address for every
    request and hands it to the server's log; ours neither formats nor writes one, even
    for a server that was given a log."""
    from gevent import pywsgi

    from forum.listener import gevent_handler

    written: list[str] = []

    class Log:
        def write(self, line: str) -> None:
            written.append(line)

    handler = object.__new__(gevent_handler())
    handler.server = type("Server", (), {"log": Log()})()
    handler.client_address = ("203.0.113.7", 40000)
    handler.requestline, handler.status, handler._orig_status = "GET /s/x HTTP/1.1", "200 OK", None
    handler.response_length, handler.time_start, handler.time_finish = 10, 1.0, 1.1
    pywsgi.WSGIHandler.log_request(handler)  # the control: pywsgi's would write the address
    assert written and "203.0.113.7" in written[0]
    written.clear()
    handler.log_request()
    assert written == []
