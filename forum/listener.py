"""The listening socket ``python -m forum`` serves on."""

from __future__ import annotations

import socket


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
