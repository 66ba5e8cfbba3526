"""Connections: how fast N authenticated clients fill one room, and what an idle one costs.

    python -m bench.connections                     # N=1000: ours (gevent, the default, and eventlet) beside Node
    python -m bench.connections --peer              # also bare Flask-SocketIO in each mode: the library's floor
    python -m bench.connections --ns 5000 --no-node # one process holding 5,000 idle clients

Per server and N: a fresh instance with N members and their session tokens (as
``bench.chat_fanout`` seeds them), N clients connect to ``/chat`` with the cookie and
our Origin and join the room as chat.js does (asked in the handshake's ``auth``,
answered by ``joined``; ``--join-event``: the ``join`` event after the connect, as
before), 25 at a time (the peers, Node socket.io and with ``--peer`` the bare
Flask-SocketIO server in each of our async modes: connect, which joins their one
room). Every client of every server opens a WebSocket straight away
(``/socket.io/?EIO=4&transport=websocket``, no polling first: ``bench.wire``), as
socket.io clients do when told ``transports: ["websocket"]``; any client that fails
(refused, lost, deaf to the probe) fails the run. Reported: seconds until all N are
in (connect + join), the server's RSS before and after, MiB per connection, and a
probe message that must reach every client (else the run fails: a connection that is
open but deaf is no connection). Then the clients stay idle for ``--idle`` seconds
(Engine.IO pings only) and a second probe must reach them all again. Runs of the
servers are interleaved, medians over ``--reps``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import proc
from bench.chat_fanout import Fanout
from bench.servers import Seeded
from bench.servers import Server
from bench.servers import remove_instance
from bench.servers import seed
from bench.servers import start_node
from bench.servers import start_ours
from bench.servers import start_peer

HERE = Path(__file__).resolve().parent


class Failed(RuntimeError):
    """A client did not get in, or did not hear the probe."""


async def _fill(server: Server, seeded: Seeded | None, n: int, idle: float, after_seq: int,
                join_at_connect: bool = True) -> dict[str, Any]:
    rss0 = proc.rss_mib(server.pid)
    cpu0 = proc.cpu_seconds(server.pid)
    fan = Fanout(server, n, seeded, senders=1, after_seq=after_seq, join_at_connect=join_at_connect)
    try:
        connect_s = await fan.connect()
        cpu_connect = proc.cpu_seconds(server.pid) - cpu0
        await asyncio.sleep(1.5)  # presence updates coalesce over a second: let them go
        rss1 = proc.rss_mib(server.pid)
        t = time.perf_counter()
        await fan.probe(60)
        probe_ms = 1000 * (time.perf_counter() - t)
        if idle > 0:
            await asyncio.sleep(idle)
            await fan.probe(60)
        lost = sum(1 for c in fan.clients if c.lost)
        if lost or fan.errors:
            raise Failed(f"{lost} clients lost, errors: {fan.errors[:3]}")
        return {
            "server": server.name, "n": n, "connect_s": round(connect_s, 2),
            "connects_per_s": round(n / connect_s, 1),
            "server_cpu_s_connect": round(cpu_connect, 2),
            "rss_before_mib": round(rss0, 1), "rss_after_mib": round(rss1, 1),
            "mib_per_conn": round((rss1 - rss0) / n, 4), "kib_per_conn": round(1024 * (rss1 - rss0) / n, 1),
            "probe_all_ms": round(probe_ms, 1), "idle_s": idle, "seq_after": fan.last_seq,
            "loadavg_1m": round(proc.load_average(), 2),
        }
    finally:
        await fan.close()


def measure(server: Server, seeded: Seeded | None, n: int, idle: float, after_seq: int,
            hard_limit: float, join_at_connect: bool = True) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            filled = _fill(server, seeded, n, idle, after_seq, join_at_connect)
            outcome["value"] = asyncio.run(asyncio.wait_for(filled, hard_limit))
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            outcome["error"] = error

    worker = threading.Thread(target=target, name="bench-connections", daemon=True)
    worker.start()
    worker.join(hard_limit + 30)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise TimeoutError(f"the run did not end within {hard_limit + 30:.0f} s")
    return outcome["value"]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    ns = [int(x) for x in args.ns.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for n in ns:
        servers: list[tuple[Server, Seeded | None]] = []
        seq: dict[str, int] = {}
        try:
            for mode in args.modes.split(","):
                seeded = seed(n, base_dir=args.instance_dir)
                servers.append((start_ours(mode, seeded), seeded))
                if args.peer:
                    servers.append((start_peer(mode), None))
            if args.node:
                servers.append((start_node(), None))
            with out.open("a") as sink:
                for rep in range(args.reps):
                    for server, seeded in servers:  # interleaved
                        try:
                            row = measure(server, seeded, n, args.idle, seq.get(server.name, 0), args.hard_limit,
                                          not args.join_event)
                            seq[server.name] = row["seq_after"]
                        except Exception as error:  # noqa: BLE001 - recorded, then the command fails
                            row = {"server": server.name, "n": n, "failed": repr(error)[:300]}
                            failures.append(f"{server.name} N={n} rep={rep}: {row['failed']}")
                        row.update(rep=rep, ts=round(time.time(), 1))
                        sink.write(json.dumps(row) + "\n")
                        sink.flush()
                        rows.append(row)
                        print(json.dumps(row), flush=True)
        finally:
            for server, seeded in servers:
                server.stop()
                if seeded is not None:
                    remove_instance(seeded)
    if failures:
        raise Failed("\n".join(failures))
    return rows


def summarize(rows: list[dict[str, Any]]) -> str:
    cells: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        if "failed" not in r:
            cells.setdefault((r["server"], r["n"]), []).append(r)
    lines = ["| server | N | runs | connect+join s | per s | server CPU-s | KiB per connection | RSS MiB (N in) | probe to all ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    med = proc.median
    for (server, n), rs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(f"| {server} | {n} | {len(rs)} | {med(r['connect_s'] for r in rs):.2f} |"
                     f" {med(r['connects_per_s'] for r in rs):,.0f} | {med(r['server_cpu_s_connect'] for r in rs):.2f} |"
                     f" {med(r['kib_per_conn'] for r in rs):.1f} | {med(r['rss_after_mib'] for r in rs):.0f} |"
                     f" {med(r['probe_all_ms'] for r in rs):.0f} |")
    by = {k: med(r["connect_s"] for r in rs) for k, rs in cells.items()}
    cpu = {k: med(r["server_cpu_s_connect"] for r in rs) for k, rs in cells.items()}
    for (server, n), s in sorted(by.items()):
        if server != "peer-node" and (node := by.get(("peer-node", n))):
            lines.append(f"- N={n}: {server} / Node connect+join time: {s / node:.2f} (goal: at most 2),"
                         f" server CPU {1000 * cpu[server, n] / n:.2f} ms a client"
                         f" (Node {1000 * cpu['peer-node', n] / n:.2f})")
        bare = server.replace("redbrolly-", "peer-bare-")
        if server.startswith("redbrolly-") and (floor := by.get((bare, n))):
            lines.append(f"- N={n}: {server} / bare Flask-SocketIO, same mode: time {s / floor:.2f},"
                         f" server CPU {cpu[server, n] / max(cpu[bare, n], 0.01):.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="gevent,eventlet", help="async modes of our server (gevent is the default)")
    ap.add_argument("--ns", default="1000", help="client counts")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--node", action=argparse.BooleanOptionalAction, default=True,
                    help="also the peer's Node socket.io server (needs RB_BENCH_NODE_PATH)")
    ap.add_argument("--peer", action="store_true",
                    help="also the peer's bare Flask-SocketIO server in each of --modes (the library's floor)")
    ap.add_argument("--join-event", action="store_true",
                    help="our clients join by the join event after connecting (the protocol before"
                         " chat.js asked in the handshake), not in the handshake")
    ap.add_argument("--idle", type=float, default=5.0, help="seconds idle before the second probe")
    ap.add_argument("--hard-limit", type=float, default=600)
    ap.add_argument("--instance-dir")
    ap.add_argument("--out", default=str(HERE / "results" / "connections.jsonl"))
    args = ap.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"load average before: {proc.load_average():.2f}", flush=True)
    try:
        rows = run(args)
    except Failed as failure:
        print(f"\nFAILED: not every client got in and heard the probe:\n{failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"\nload average after: {proc.load_average():.2f}\n")
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
