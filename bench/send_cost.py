"""What one chat send costs our code, in process: CPU, statements, and a profile.

    python -m bench.send_cost                          # 3 reps of 1,000 sends, medians
    python -m bench.send_cost --profile cprofile       # + the top functions of one more run
    python -m bench.send_cost --profile pyinstrument --n 1000

Through the real ``/chat`` namespace (Flask-SocketIO's test client, threading mode):
each send passes the socket's session check, ``chat.post_message`` (access, screening,
the rate limiter, the seq, the sealed INSERT, the commit) and the broadcast to one
listener in the room, as a server's event does, only without the network and without
the other 999 sockets of a room at N=1,000 (``bench/chat_fanout.py`` measures those).

The rate limiter runs on every send (the chat limits raised out of reach, as
``bench/servers.py`` ``LOAD_ENV`` does for the servers). ``--gap-ms`` (default 20)
sleeps between sends, as a server at N=1,000 spends ~15-30 ms of each message on its
broadcast: the quiet gaps that decide what the limiter's memory storage does. Sleep
costs no CPU: the figure is process CPU time (every thread) per send.

Figures per run: ``cpu_us`` (process CPU a send), ``wall_us`` (the send's own wall
time), ``statements`` (SQL statements a send runs, from the engine's
``before_cursor_execute``), ``threads`` (threads started a send). Any refused send
or a message the listener missed fails the run (exit 1). Appends one JSON line per
invocation to ``bench/results/send_cost.jsonl``.
"""

from __future__ import annotations

import argparse
import contextvars
import cProfile
import json
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from bench.servers import UNREACHABLE
from bench.servers import _seed_config
from bench.servers import remove_instance
from bench.servers import seed
from forum import sessions
from forum.app import create_app
from forum.extensions import db
from forum.extensions import socketio
from moderation import trust

HERE = Path(__file__).resolve().parent
ORIGIN = "http://127.0.0.1:5000"
NS = "/chat"
BODY = "meet at the *usual* place, text me when you are there"


class Failed(Exception):
    pass


def _config(instance: Path) -> dict:
    return {
        **_seed_config(instance),
        "RB_PUBLIC_ORIGIN": ORIGIN,
        "RB_LIMITS_ENABLED": True,  # the limiter runs on every send, never reached
        **{setting: UNREACHABLE for setting in trust.CHAT_RATE.values()},
        "RB_LIMIT_BY_ADDRESS": False,
        "RB_SOCKET_RATE": 1_000_000.0,
        "RB_SOCKET_BURST": 1_000_000,
        "RB_PRESENCE_MS": 0,
    }


def _socket(app, token: str):
    client = app.test_client()
    client.set_cookie(sessions.COOKIE_NAME, token, domain="localhost")
    sock = contextvars.Context().run(
        socketio.test_client,
        app,
        namespace=NS,
        flask_test_client=client,
        headers={"Origin": ORIGIN},
    )
    if not sock.is_connected(NS):
        raise Failed("a socket was refused at connect")
    return sock


def _ack(sock, event: str, data: dict) -> dict:
    answer = contextvars.Context().run(sock.emit, event, data, namespace=NS, callback=True)
    if not isinstance(answer, dict) or not answer.get("ok") or answer.get("held"):
        raise Failed(f"{event} refused: {answer!r}")
    return answer


class _Threads:
    """Counts threads started (the limiter's memory storage starts timers)."""

    def __init__(self) -> None:
        self.started = 0
        self._original = threading.Thread.start

    def __enter__(self) -> _Threads:
        counter = self

        def start(thread: threading.Thread) -> None:
            counter.started += 1
            counter._original(thread)

        threading.Thread.start = start  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        threading.Thread.start = self._original  # type: ignore[method-assign]


def run_once(app, sender, listener, room_id: int, n: int, gap: float, tag: str) -> dict[str, float]:
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    listener.get_received(NS)  # drop what came before
    cpu = wall = 0.0
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with _Threads() as threads:
            for i in range(n):
                if gap:
                    time.sleep(gap)
                data = {"room_id": room_id, "client_id": f"{tag}-{i:06d}", "body": BODY}
                c0, w0 = time.process_time(), time.perf_counter()
                _ack(sender, "send", data)
                cpu += time.process_time() - c0
                wall += time.perf_counter() - w0
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    heard = [e for e in listener.get_received(NS) if e["name"] == "message"]
    if len(heard) != n:
        raise Failed(f"the listener heard {len(heard)} of {n} messages")
    return {
        "cpu_us": cpu / n * 1e6,
        "wall_us": wall / n * 1e6,
        "statements": statements[0] / n,
        "threads": threads.started / n,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--n", type=int, default=1000, help="sends per repetition")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="sleep between sends")
    parser.add_argument("--profile", choices=("none", "cprofile", "pyinstrument"), default="none")
    parser.add_argument("--top", type=int, default=40, help="functions the profile lists")
    parser.add_argument("--label", default="", help="written into the JSON line (e.g. a commit)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "send_cost.jsonl")
    args = parser.parse_args(argv)
    seeded = seed(2)
    runs: list[dict[str, float]] = []
    try:
        app = create_app(_config(seeded.instance))
        with app.app_context():
            sender = _socket(app, seeded.tokens[0])
            listener = _socket(app, seeded.tokens[1])
            for sock in (sender, listener):
                _ack(sock, "join", {"room_id": seeded.room_id, "after_seq": 0})
            gap = args.gap_ms / 1000
            run_once(app, sender, listener, seeded.room_id, 20, gap, "warm")  # keys, caches
            for rep in range(max(1, args.reps)):
                runs.append(run_once(app, sender, listener, seeded.room_id, args.n, gap, f"r{rep}"))
            if args.profile == "cprofile":
                profiler = cProfile.Profile()
                profiler.enable()
                run_once(app, sender, listener, seeded.room_id, args.n, gap, "prof")
                profiler.disable()
                stats = pstats.Stats(profiler).strip_dirs()
                print(
                    f"cProfile over {args.n} sends: {stats.total_calls / args.n:.0f} calls a send"
                )
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
            elif args.profile == "pyinstrument":
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0002)
                profiler.start()
                run_once(app, sender, listener, seeded.room_id, args.n, gap, "prof")
                profiler.stop()
                print(profiler.output_text(unicode=False, color=False, show_all=False))
            db.session.remove()
            db.engine.dispose()
    except Failed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        remove_instance(seeded)
    medians = {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
    line = {"label": args.label, "reps": len(runs), "n": args.n, "gap_ms": args.gap_ms, **medians}
    line["runs_cpu_us"] = [round(r["cpu_us"], 1) for r in runs]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        fh.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
