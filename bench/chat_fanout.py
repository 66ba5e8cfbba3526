"""Chat fan-out: what our stored, acknowledged, authorised chat costs next to a bare broadcast.

    python -m bench.chat_fanout                      # eventlet + gevent, N=100,500, 3 reps
    python -m bench.chat_fanout --peer               # also the peer's bare Flask-SocketIO server
    python -m bench.chat_fanout --summarize FILE     # the median table of earlier runs

Each server gets a fresh instance with N members of one open space, their session
tokens written into the database before it starts. N clients connect to ``/chat``
with the ``rb_session`` cookie and our Origin, ``join`` the room, and 4 of them send.
Two phases per connection set:

- ``rate``: a fixed total send rate (5 messages/s); latency is send -> ``message``
  receipt at every other client, and send -> ack at the sender (the message stored).
- ``sat``: each sender keeps 4 messages in flight (done when every client has it);
  deliveries/s is the ceiling.

A delivery is one client getting one message: the N-1 others by the ``message``
event, the sender by its ack, so one message is N deliveries (as in the peer's
benchmark, where the sender hears its own broadcast). Server CPU % (100 = one core)
and RSS come from /proc. Only 127.0.0.1; every phase is bounded in time.

A run where any client gets an error (a refused send, a refused join, a lost
connection) or any message fails to reach every client is a failure, not a lower
figure: it is recorded as failed, left out of the medians, and the command exits 1
naming the problem.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import signal
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import proc
from bench.servers import Seeded
from bench.servers import Server
from bench.servers import remove_instance
from bench.servers import seed
from bench.servers import start_ours
from bench.servers import start_node
from bench.servers import start_peer
from bench.wire import SocketIOClient

HERE = Path(__file__).resolve().parent
STORED_PEER = Path("/work/shared/bench/peer/results/chat_quiet.jsonl")
CONNECT_BATCH = 25
HTML_ID = re.compile(r'"html":\s*"b(\d+) ')
BARE_ID = re.compile(r'"i":\s*(\d+)')


@dataclass
class Phase:
    mode: str  # "rate" or "sat"
    warmup: float = 1.0
    duration: float = 6.0
    rate: float = 5.0  # rate: messages/s in total, round-robin over the senders
    window: int = 4  # sat: messages in flight per sender
    count: int | None = None  # rate: stop after this many messages
    drain: float = 15.0


class Fanout:
    """N clients in one room of one server; run phases against it."""

    def __init__(self, server: Server, n: int, seeded: Seeded | None, senders: int = 4,
                 payload: int = 100, after_seq: int = 0, join_at_connect: bool = True) -> None:
        self.server, self.n, self.seeded = server, n, seeded
        self.join_at_connect = join_at_connect
        self.senders = min(senders, n)
        self.filler = "x" * payload
        self.after_seq = after_seq
        self.last_seq = after_seq
        self.clients: list[SocketIOClient] = []
        self.next_id = 0
        self.sent_at: dict[int, float] = {}
        self.sender: dict[int, int] = {}
        self.counts: dict[int, int] = defaultdict(int)
        self.errors: list[str] = []
        self.probe_id = -1
        self.probe_done: asyncio.Event | None = None
        self._reset_phase(None)

    def _reset_phase(self, phase: Phase | None) -> None:
        self.phase = phase
        self.running = False
        self.tw0 = self.tw1 = float("inf")
        self.recv_window = 0
        self.lat: list[float] = []
        self.ack_lat: list[float] = []
        self.inflight = [0] * self.senders

    # --- receipts ----------------------------------------------------------------

    def _received(self, message_id: int, now: float, ack: bool) -> None:
        if self.tw0 <= now <= self.tw1:
            self.recv_window += 1
        sent = self.sent_at.get(message_id)
        if sent is not None and self.tw0 <= sent <= self.tw1:
            (self.ack_lat if ack else self.lat).append(now - sent)
        self.counts[message_id] += 1
        if self.counts[message_id] == self.n:
            self._complete(message_id)

    def _complete(self, message_id: int) -> None:
        if message_id == self.probe_id and self.probe_done is not None:
            self.probe_done.set()
        elif self.running and self.phase.mode == "sat":
            s = self.sender[message_id]
            self.inflight[s] -= 1
            self._pump(s)

    def _on_event(self, _client: SocketIOClient, _name: None, _data: None, text: str) -> None:
        now = time.perf_counter()
        found = (HTML_ID if self.server.kind == "rb" else BARE_ID).search(text)
        if found is None:
            return  # presence, typing: not a chat message
        self._received(int(found.group(1)), now, ack=False)

    def _on_ack(self, message_id: int, answer: Any) -> None:
        now = time.perf_counter()
        if not isinstance(answer, dict) or not answer.get("ok"):
            self.errors.append(str(answer)[:200])
            return
        self.last_seq = max(self.last_seq, int(answer.get("seq") or 0))
        self._received(message_id, now, ack=True)

    # --- sending -----------------------------------------------------------------

    def _send(self, s: int) -> int:
        message_id = self.next_id
        self.next_id += 1
        self.sent_at[message_id] = time.perf_counter()
        self.sender[message_id] = s
        client = self.clients[s]
        if self.server.kind == "rb":
            data = {"room_id": self.seeded.room_id, "client_id": f"bench-{id(self):x}-{message_id:08d}",
                    "body": f"b{message_id} {self.filler}"}
            client.emit("send", data, ack=lambda answer, m=message_id: self._on_ack(m, answer))
        else:
            client.emit("msg", {"i": message_id, "s": s, "p": self.filler})
        return message_id

    def _pump(self, s: int) -> None:
        while self.running and self.inflight[s] < self.phase.window:
            self._send(s)
            self.inflight[s] += 1

    # --- lifecycle ---------------------------------------------------------------

    async def connect(self) -> float:
        """Connect all N (batches of 25), join the room; return seconds taken."""
        t0 = time.perf_counter()
        for start in range(0, self.n, CONNECT_BATCH):
            batch = [self._connect_one(i) for i in range(start, min(self.n, start + CONNECT_BATCH))]
            self.clients.extend(await asyncio.gather(*batch))
        return time.perf_counter() - t0

    async def _connect_one(self, i: int) -> SocketIOClient:
        if self.server.kind == "rb":
            # Joined as chat.js joins: asked in the handshake, answered by "joined"
            # (join_at_connect=False: the "join" event after the connect, as before).
            headers = {"Origin": self.server.origin, "Cookie": f"rb_session={self.seeded.tokens[i]}"}
            room = {"room_id": self.seeded.room_id, "after_seq": self.after_seq}
            client = SocketIOClient("127.0.0.1", self.server.port, "/chat", headers, self._on_event, raw=True,
                                    auth=room if self.join_at_connect else None)
            joined = client.expect("joined") if self.join_at_connect else None
            await client.connect()
            if joined is not None:
                answer = await asyncio.wait_for(joined, 20)
            else:
                answer = await client.call("join", room)
            if not answer.get("ok"):
                raise RuntimeError(f"join refused: {answer}")
        else:
            client = SocketIOClient("127.0.0.1", self.server.port, "/", {}, self._on_event, raw=True)
            await client.connect()
        return client

    async def probe(self, timeout: float = 20) -> None:
        """One message must reach every client before measuring (checks the room)."""
        self.probe_done = asyncio.Event()
        self.probe_id = self._send(0)
        try:
            await asyncio.wait_for(self.probe_done.wait(), timeout)
        except TimeoutError:
            raise RuntimeError(f"probe reached {self.counts[self.probe_id]}/{self.n} clients"
                               f" (errors: {self.errors[:3]})") from None

    async def run(self, phase: Phase) -> dict[str, Any]:
        self._reset_phase(phase)
        first_id = self.next_id
        pid = self.server.pid
        start = time.perf_counter()
        self.tw0, self.tw1 = start + phase.warmup, start + phase.warmup + phase.duration
        self.running = True
        meter: proc.CpuMeter | None = None
        if phase.mode == "sat":
            for s in range(self.senders):
                self._pump(s)
        sent = rr = 0
        while (now := time.perf_counter()) < self.tw1:
            if meter is None and now >= self.tw0:
                meter = proc.CpuMeter([pid])
            if phase.mode == "rate":
                due = int(phase.rate * (now - start))
                if phase.count is not None:
                    due = min(due, phase.count)
                while sent < due:
                    self._send(rr)
                    rr, sent = (rr + 1) % self.senders, sent + 1
            await asyncio.sleep(0.002)
        cpu = (meter or proc.CpuMeter([pid])).stop()
        self.running = False
        last_id = self.next_id
        in_window = [m for m in range(first_id, last_id) if self.tw0 <= self.sent_at[m] <= self.tw1]
        deadline = time.perf_counter() + phase.drain
        while time.perf_counter() < deadline and any(self.counts[m] < self.n for m in range(first_id, last_id)):
            await asyncio.sleep(0.05)
        lat = sorted(self.lat)
        ack = sorted(self.ack_lat)
        counted = sum(self.counts[m] for m in in_window)
        phase_ids = range(first_id, last_id)
        return {
            "server": self.server.name, "n": self.n, "mode": phase.mode, "senders": self.senders,
            "rate": phase.rate if phase.mode == "rate" else None,
            "window": phase.window if phase.mode == "sat" else None,
            "payload": len(self.filler), "duration_s": phase.duration,
            "msgs_sent_in_window": len(in_window),
            "deliveries_per_s": round(self.recv_window / phase.duration, 1),
            "deliveries_counted": counted, "deliveries_expected": len(in_window) * self.n,
            "delivered_fraction": round(counted / (len(in_window) * self.n), 4) if in_window else None,
            "incomplete_msgs_after_drain": sum(1 for m in phase_ids if self.counts[m] < self.n),
            # The whole phase (warm-up, window and the tail drained after it): what the
            # smoke test checks, since a loaded machine may send nothing inside a short window.
            "msgs_sent_phase": len(phase_ids),
            "deliveries_phase_counted": sum(self.counts[m] for m in phase_ids),
            "deliveries_phase_expected": len(phase_ids) * self.n,
            "lat_ms": _quantiles(lat), "ack_ms": _quantiles(ack),
            **cpu,
            "server_rss_mib": round(proc.rss_mib(pid), 1),
            "server_peak_rss_mib": round(proc.peak_rss_mib(pid), 1),
            "errors": len(self.errors),
            "error_samples": sorted(set(self.errors))[:3],
            "disconnects": sum(1 for c in self.clients if c.lost),
            "msgs_sent_total": self.next_id, "seq_advance": self.last_seq - self.after_seq,
            "loadavg_1m": round(proc.load_average(), 2),
        }

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await asyncio.sleep(0.2)


def _quantiles(values: list[float]) -> dict[str, float]:
    return {"p50": round(1000 * proc.quantile(values, 0.5), 2), "p99": round(1000 * proc.quantile(values, 0.99), 2),
            "samples": len(values)}


class BenchFailure(RuntimeError):
    """A run that could not be measured honestly: its figures would be too low."""


def problems(result: dict[str, Any]) -> list[str]:
    """Why this result is not a measurement (empty when every client got every message)."""
    found = []
    if "error" in result:
        found.append(result["error"])
        return found
    if result["errors"]:
        found.append(f"{result['errors']} sends refused, e.g. {'; '.join(result['error_samples'])}")
    if result["disconnects"]:
        found.append(f"{result['disconnects']} clients lost their connection")
    if result["incomplete_msgs_after_drain"]:
        found.append(f"{result['incomplete_msgs_after_drain']} messages did not reach all {result['n']} clients")
    if result["deliveries_counted"] != result["deliveries_expected"]:
        found.append(f"{result['deliveries_counted']} of {result['deliveries_expected']} deliveries counted")
    if result.get("deliveries_phase_counted", 0) != result.get("deliveries_phase_expected", 0):
        found.append(f"{result['deliveries_phase_counted']} of {result['deliveries_phase_expected']}"
                     " deliveries of the whole phase counted")
    return found


async def _measure(server: Server, n: int, seeded: Seeded | None, phases: list[Phase], senders: int,
                   payload: int, after_seq: int) -> tuple[list[dict], int]:
    fan = Fanout(server, n, seeded, senders=senders, payload=payload, after_seq=after_seq)
    try:
        connect_s = await fan.connect()
        await asyncio.sleep(0.5)
        rss_connected = proc.rss_mib(server.pid)
        await fan.probe()
        results = []
        for phase in phases:
            result = await fan.run(phase)
            result.update(connect_s=round(connect_s, 2), server_rss_mib_connected=round(rss_connected, 1))
            results.append(result)
        return results, fan.last_seq
    finally:
        await fan.close()


def measure(server: Server, n: int, seeded: Seeded | None, phases: list[Phase], *, senders: int = 4,
            payload: int = 100, after_seq: int = 0, hard_limit: float = 180) -> tuple[list[dict], int]:
    """Connect N clients, run the phases; return one result per phase and the room's last seq.

    The event loop runs in its own thread, so a caller that already runs one (a test
    session where Playwright left a loop in the main thread) is no obstacle.
    """
    async def bounded() -> tuple[list[dict], int]:
        return await asyncio.wait_for(_measure(server, n, seeded, phases, senders, payload, after_seq), hard_limit)

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(bounded())
        except BaseException as error:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=target, name="bench-fanout", daemon=True)
    worker.start()
    worker.join(hard_limit + 30)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise TimeoutError(f"the run did not end within {hard_limit + 30:.0f} s")
    return outcome["value"]


# --- the command ---------------------------------------------------------------------


def _phases(args: argparse.Namespace) -> list[Phase]:
    return [Phase("rate", warmup=args.warmup, duration=args.rate_duration, rate=args.rate, drain=args.drain),
            Phase("sat", warmup=args.warmup, duration=args.sat_duration, window=args.window, drain=args.drain)]


def run(args: argparse.Namespace) -> Path:
    ns = [int(x) for x in args.ns.split(",")] + ([1000] if args.big else [])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    servers: list[tuple[Server, Seeded | None]] = []
    seq: dict[str, int] = {}
    failures: list[str] = []
    t_end = time.monotonic() + args.budget
    try:
        for mode in args.modes.split(","):
            seeded = seed(max(ns), base_dir=args.instance_dir)
            servers.append((start_ours(mode, seeded), seeded))
            if args.peer:
                servers.append((start_peer(mode), None))
        if args.node:
            servers.append((start_node(), None))
        for server, seeded in servers:  # one discarded warm-up run each
            warm, seq[server.name] = measure(server, min(50, max(ns)), seeded,
                                             [Phase("sat", warmup=0.5, duration=1.0, drain=5)])
            for result in warm:
                if found := problems(result):
                    raise BenchFailure(f"{server.name} warm-up: " + "; ".join(found))
        with out.open("a") as sink:
            for rep in range(args.reps):
                if rep > 0 and time.monotonic() > t_end:  # the first always runs
                    print("time budget used up; stopping", flush=True)
                    break
                for n in ns:
                    for server, seeded in servers:  # interleaved, so drift spreads over all
                        try:
                            results, seq[server.name] = measure(server, n, seeded, _phases(args),
                                                                senders=args.senders, payload=args.payload,
                                                                after_seq=seq[server.name])
                        except Exception as error:  # noqa: BLE001 - recorded, then the command fails
                            results = [{"server": server.name, "n": n, "error": repr(error)[:300]}]
                        for result in results:
                            result.update(rep=rep, ts=round(time.time(), 1))
                            if found := problems(result):
                                result["failed"] = "; ".join(found)
                                failures.append(f"{server.name} N={n} {result.get('mode', '')} rep={rep}:"
                                                f" {result['failed']}")
                            sink.write(json.dumps(result) + "\n")
                            sink.flush()
                            print(_line(result), flush=True)
    finally:
        for server, seeded in servers:
            server.stop()
            if seeded is not None:
                remove_instance(seeded)
    if failures:
        raise BenchFailure("\n".join(failures))
    return out


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['server']:24} N={r['n']:<5} ERROR {r['error']}"
    if "failed" in r:
        return f"{r['server']:24} N={r['n']:<5} {r['mode']:4} rep={r['rep']} FAILED {r['failed']}"
    return (f"{r['server']:24} N={r['n']:<5} {r['mode']:4} rep={r['rep']} deliveries/s={r['deliveries_per_s']:>9,.0f}"
            f" p50={r['lat_ms']['p50']:.1f} p99={r['lat_ms']['p99']:.1f} ack p50={r['ack_ms']['p50']:.1f}"
            f" cpu={r['server_cpu_pct']:.0f}% gen={r['gen_cpu_pct']:.0f}% other={r['other_cpu_pct']:.0f}%"
            f" rss={r['server_rss_mib']:.0f}MiB delivered={r['delivered_fraction']}")


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def summarize(paths: list[Path], stored: Path | None = STORED_PEER) -> str:
    """The median table (and ratios) of the JSON lines in ``paths``."""
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    cells: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    failed: dict[tuple[str, int], int] = defaultdict(int)
    for r in rows:
        if "error" in r or "failed" in r:
            failed[(r["server"], r["n"])] += 1
        else:
            cells[(r["server"], r["n"], r["mode"])].append(r)
    med = proc.median
    lines = [("| server | N | mode | runs | deliveries/s | per server CPU-s | p50 ms | p99 ms | ack p50 ms |"
             " ack p99 ms | server CPU % | gen CPU % | other CPU % | RSS MiB (N joined) | peak RSS MiB |"
             " delivered (min) | load avg |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    medians: dict[tuple[str, int, str], dict[str, float]] = {}
    for (server, n, mode), rs in sorted(cells.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        m = {
            "dps": med(r["deliveries_per_s"] for r in rs),
            "eff": med(r["deliveries_per_s"] / (r["server_cpu_pct"] / 100) for r in rs if r["server_cpu_pct"] > 0),
            "p50": med(r["lat_ms"]["p50"] for r in rs), "p99": med(r["lat_ms"]["p99"] for r in rs),
            "a50": med(r["ack_ms"]["p50"] for r in rs), "a99": med(r["ack_ms"]["p99"] for r in rs),
            "cpu": med(r["server_cpu_pct"] for r in rs), "gen": med(r["gen_cpu_pct"] for r in rs),
            "other": med(r["other_cpu_pct"] for r in rs),
            "rss": med(r["server_rss_mib_connected"] for r in rs), "peak": max(r["server_peak_rss_mib"] for r in rs),
            "load": med(r["loadavg_1m"] for r in rs),
        }
        medians[(server, n, mode)] = m
        fraction = min((r["delivered_fraction"] or 0) for r in rs)
        lines.append(f"| {server} | {n} | {mode} | {len(rs)} | {_fmt(m['dps'], 0)} | {_fmt(m['eff'], 0)} |"
                     f" {_fmt(m['p50'])} | {_fmt(m['p99'])} | {_fmt(m['a50'])} | {_fmt(m['a99'])} |"
                     f" {_fmt(m['cpu'], 0)} | {_fmt(m['gen'], 0)} | {_fmt(m['other'], 0)} | {_fmt(m['rss'], 0)} |"
                     f" {_fmt(m['peak'], 0)} | {fraction} | {_fmt(m['load'], 2)} |")
    for (server, n), k in sorted(failed.items()):
        lines.append(f"| {server} | {n} | failed runs: {k} | | | | | | | | | | | | | | |")
    lines += ["", "Ratios of medians (sat: deliveries/s and deliveries per server CPU-second; rate: p50):", ""]
    for (server, n, mode), m in sorted(medians.items()):
        if server != "redbrolly-eventlet":
            continue
        for other in ("redbrolly-gevent", "peer-bare-eventlet", "peer-bare-gevent", "peer-node"):
            o = medians.get((other, n, mode))
            if o is None:
                continue
            if mode == "sat":
                lines.append(f"- N={n} sat: eventlet(ours) / {other}: deliveries/s {m['dps'] / o['dps']:.2f},"
                             f" per CPU-s {m['eff'] / o['eff']:.2f}")
            else:
                lines.append(f"- N={n} rate: eventlet(ours) / {other}: p50 {m['p50'] / o['p50']:.2f},"
                             f" server CPU {m['cpu'] / o['cpu']:.2f}")
    for (server, n, mode), m in sorted(medians.items()):
        if server == "redbrolly-gevent" and (o := medians.get(("peer-bare-gevent", n, mode))) and mode == "sat":
            lines.append(f"- N={n} sat: gevent(ours) / peer-bare-gevent: deliveries/s {m['dps'] / o['dps']:.2f},"
                         f" per CPU-s {m['eff'] / o['eff']:.2f}")
    if stored is not None and stored.exists():
        lines += ["", stored_peer_table(stored)]
    return "\n".join(lines)


def stored_peer_table(path: Path) -> str:
    """Medians the peer measured earlier on a quiet machine with its Node generator (reference only)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cells: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    for r in rows:
        if "error" not in r and r.get("foreign_cpu_pct", 0) <= 25:
            cells[(r["server"], r["n"], r["mode"])].append(r)
    lines = [(f"REFERENCE, not this run: stored peer medians from {path} (quiet machine, Node loadgen.js,"
             " bare rebroadcast; rate latency includes the sender hearing itself):"), "",
             ("| peer server | N | mode | runs | deliveries/s | per server CPU-s | p50 ms | p99 ms | server CPU % |"
             " RSS MiB |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for (server, n, mode), rs in sorted(cells.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        if server not in ("node", "eventlet", "gevent") or n not in (100, 500, 1000):
            continue
        med = proc.median
        eff = med(r["deliveries_per_s"] / (r["server_cpu_pct"] / 100) for r in rs if r["server_cpu_pct"])
        lines.append(f"| {server} | {n} | {mode} | {len(rs)} | {_fmt(med(r['deliveries_per_s'] for r in rs), 0)} |"
                     f" {_fmt(eff, 0)} | {_fmt(med(r['lat_ms']['p50'] for r in rs))} |"
                     f" {_fmt(med(r['lat_ms']['p99'] for r in rs))} | {_fmt(med(r['server_cpu_pct'] for r in rs), 0)} |"
                     f" {_fmt(med(r['server_rss_mb_connected'] for r in rs), 0)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="eventlet,gevent", help="async modes of our server (eventlet,gevent,threading)")
    ap.add_argument("--ns", default="100,500", help="client counts")
    ap.add_argument("--big", action="store_true", help="add N=1000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--peer", action="store_true", help="also run the peer's bare Flask-SocketIO server per mode")
    ap.add_argument("--node", action="store_true", help="also the peer's Node socket.io server (RB_BENCH_NODE_PATH)")
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--rate", type=float, default=5.0, help="rate phase: messages/s in total")
    ap.add_argument("--window", type=int, default=4, help="sat phase: messages in flight per sender")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--rate-duration", type=float, default=6.0)
    ap.add_argument("--sat-duration", type=float, default=4.0)
    ap.add_argument("--payload", type=int, default=100, help="filler characters per message")
    ap.add_argument("--budget", type=float, default=300, help="no repetition after the first starts after this many seconds (seeding and start-up count)")
    ap.add_argument("--drain", type=float, default=15.0, help="seconds a phase's last messages may take to arrive")
    ap.add_argument("--instance-dir", help="parent folder of the temporary instances (e.g. /dev/shm)")
    ap.add_argument("--out", default=str(HERE / "results" / "chat_fanout.jsonl"))
    ap.add_argument("--summarize", nargs="*", help="print the median table of these JSON-lines files and exit")
    args = ap.parse_args(argv)
    if args.summarize:
        print(summarize([Path(p) for p in args.summarize]))
        return 0
    # SIGTERM (timeout, kill) unwinds through the finally blocks that stop the servers.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return _measure_and_report(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _measure_and_report(args: argparse.Namespace) -> int:
    print(f"load average before: {proc.load_average():.2f}", flush=True)
    started = time.time()
    try:
        out = run(args)
    except BenchFailure as failure:
        print(f"\nFAILED: the benchmark's clients did not all get what they sent, so no figure is"
              f" printed:\n{failure}", file=sys.stderr, flush=True)
        return 1
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    ours = [json.dumps(r) for r in rows if r.get("ts", 0) >= started - 1]
    scratch = out.with_suffix(".last.jsonl")
    scratch.write_text("\n".join(ours) + "\n")
    print(f"\nload average after: {proc.load_average():.2f}; all rows appended to {out}\n")
    print(summarize([scratch]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
