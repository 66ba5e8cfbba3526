"""A minimal asyncio WebSocket + Engine.IO v4 / Socket.IO v5 client, for load generation.

Why not python-socketio's client: one client object per connection costs more CPU
per delivered message than the servers we measure, so the generator would saturate
first. This speaks the wire protocol directly: a text frame per packet, ``2``/``3``
ping-pong, ``40<ns>,`` to connect a namespace (``40<ns>,{auth}`` with the handshake's
``auth``), ``42<ns>,<ack>[event, data]`` to emit and ``43<ns>,<ack>[data]`` for acks.
Loopback targets only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
from collections.abc import Callable
from typing import Any

LOOPBACK = re.compile(r"127\.\d{1,3}\.\d{1,3}\.\d{1,3}")
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class WireError(RuntimeError):
    """The server refused, closed, or said something this client does not understand."""


def _mask(payload: bytes) -> bytes:
    """Client frames must be masked (RFC 6455 5.3); XOR through one big integer is cheap."""
    key = os.urandom(4)
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big") if n else b""
    return key + masked


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _mask(payload)


class SocketIOClient(asyncio.Protocol):
    """One connection: ``await connect()``, then ``emit``; ``on_event`` hears server events.

    ``on_event(client, name, data, text)`` gets each decoded event; with ``raw=True`` it
    gets ``(client, None, None, text)`` and decodes what it needs itself (cheaper).
    An ``asyncio.Protocol`` parses frames straight from the socket buffer: no coroutine
    switch per frame, so the generator stays cheaper than the servers it drives.
    """

    def __init__(self, host: str, port: int, namespace: str = "/", headers: dict[str, str] | None = None,
                 on_event: Callable[..., None] | None = None, raw: bool = False,
                 auth: dict | None = None) -> None:
        if not LOOPBACK.fullmatch(host):
            raise ValueError("load targets must be on 127.0.0.1")
        self.host, self.port, self.namespace = host, port, namespace
        self.prefix = "" if namespace == "/" else namespace + ","
        self.headers = headers or {}
        self.on_event = on_event
        self.raw = raw
        self.auth = "" if auth is None else json.dumps(auth, separators=(",", ":"))
        self._expected: tuple[str, asyncio.Future] | None = None
        self.acks: dict[int, Callable[[Any], None] | asyncio.Future] = {}
        self.next_ack = 0
        self.closed = False
        self.lost = False
        loop = asyncio.get_running_loop()
        self.connected = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._upgraded = False
        self._parts: list[bytes] = []

    def expect(self, event: str) -> asyncio.Future:
        """A future for the data of the next ``event`` (one at a time; before ``connect``
        for an event the server sends while connecting, as ``joined``)."""
        waiter = asyncio.get_running_loop().create_future()
        self._expected = (f'42{self.prefix}["{event}",', waiter)
        return waiter

    async def connect(self, timeout: float = 20) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.create_connection(lambda: self, self.host, self.port), timeout)
        await asyncio.wait_for(asyncio.shield(self.connected), timeout)

    # --- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /socket.io/?EIO=4&transport=websocket HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status + b" ":
                self._fail(WireError(f"handshake refused: {status.decode('latin-1')}"))
                return
            self._upgraded = True
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if size - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2: pos + 4], "big"), 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2: pos + 10], "big"), 10
            if size - pos < head + n:
                break
            payload = bytes(buf[pos + head: pos + head + n])
            pos += head + n
            self._frame(b0, payload)
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(WireError(f"connection lost: {exc!r}"))

    # --- frames and packets ------------------------------------------------------

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if not self.connected.done():
            self.connected.set_exception(error)
        for waiter in self.acks.values():
            if isinstance(waiter, asyncio.Future) and not waiter.done():
                waiter.set_exception(error)
        self.acks.clear()
        if self.transport is not None:
            self.transport.close()

    def _frame(self, b0: int, payload: bytes) -> None:
        op = b0 & 0x0F
        if op == PING:
            self.transport.write(_frame(PONG, payload))
        elif op == CLOSE:
            self._fail(WireError("closed by the server"))
        elif op >= 0x8:
            return
        elif not b0 & 0x80:  # a fragment: keep it until the final one
            self._parts.append(payload)
        elif self._parts:
            self._parts.append(payload)
            text = b"".join(self._parts).decode()
            self._parts = []
            self._packet(text)
        else:
            self._packet(payload.decode())

    def _send_text(self, text: str) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(_frame(TEXT, text.encode()))

    def emit(self, event: str, data: Any, ack: Callable[[Any], None] | bool = False) -> asyncio.Future | None:
        """Send an event. ``ack=True``: return a future for the answer; a callable: call it."""
        body = json.dumps([event, data], separators=(",", ":"))
        if not ack:
            self._send_text(f"42{self.prefix}{body}")
            return None
        self.next_ack += 1
        waiter = asyncio.get_running_loop().create_future() if ack is True else ack
        self.acks[self.next_ack] = waiter
        self._send_text(f"42{self.prefix}{self.next_ack}{body}")
        return waiter if ack is True else None

    async def call(self, event: str, data: Any, timeout: float = 20) -> Any:
        return await asyncio.wait_for(self.emit(event, data, ack=True), timeout)

    def _packet(self, text: str) -> None:
        kind = text[0]
        if kind == "2":  # Engine.IO ping
            self._send_text("3")
        elif kind == "0":  # Engine.IO open: connect our namespace
            self._send_text(f"40{self.prefix}{self.auth}")
        elif kind != "4":
            return
        elif text.startswith("42"):
            if self._expected is not None and text.startswith(self._expected[0]):
                waiter = self._expected[1]
                self._expected = None
                if not waiter.done():
                    waiter.set_result(json.loads(text[2 + len(self.prefix):])[1])
                return
            if self.raw:
                self.on_event(self, None, None, text)
                return
            name, data = ([*json.loads(text[2 + len(self.prefix):]), None])[:2]
            if self.on_event:
                self.on_event(self, name, data, text)
        elif text.startswith("43"):
            body = text[2 + len(self.prefix):]
            cut = body.index("[")
            waiter = self.acks.pop(int(body[:cut]), None)
            args = json.loads(body[cut:])
            answer = args[0] if args else None
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(answer)
            elif waiter is not None:
                waiter(answer)
        elif text.startswith("40"):
            if not self.connected.done():
                self.connected.set_result(True)
        elif text.startswith("44") and not self.connected.done():
            self.connected.set_exception(WireError(f"connect refused: {text[2:]}"))

    async def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            try:
                self.transport.write(_frame(CLOSE, struct.pack("!H", 1000)))
            finally:
                self.transport.close()
