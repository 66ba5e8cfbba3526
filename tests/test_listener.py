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
