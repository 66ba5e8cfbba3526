"""Page speed: requests/s and latency of the main pages, signed in, eventlet vs gevent.

    python -m bench.pages                        # eventlet + gevent, 1 and 4 connections, 3 reps
    python -m bench.pages --summarize FILE       # the median table of earlier runs
    python -m bench.pages --summarize FILE --max-other 25   # only runs the rest of the machine left alone
    RB_BENCH_FLASKBB=DIR python -m bench.pages --flaskbb   # beside FlaskBB 2.2.0's topic page

A fresh instance per server: 10 members of one open space with 30 threads, one of
them 50 posts long in Markdown (its first page shows ``threads.POSTS_PER_PAGE``),
and a chat room with 50 messages. Every request carries a member's ``rb_session``
cookie. The client is wrk (``apt-get install wrk``) when installed, else a bounded
Python thread pool (slower: it then measures the client as much as the server).
Server CPU % (100 = one core) from /proc; peak RSS is the server's VmHWM.
Only 127.0.0.1; every run is bounded in time.

A page that does not answer 200, or any request that fails during a run, is a
failure, not a lower figure: the command stops and exits 1 naming the page.

``--flaskbb``: the peer's FlaskBB 2.2.0 (a scratch install outside the repo, named by
``RB_BENCH_FLASKBB``; docs/PERFORMANCE.md says how to make it) runs beside ours under
gunicorn with one sync worker, as FlaskBB is deployed, once per ``--flaskbb-posts`` page
size, each with its own copy of the database. Its 50-post topic page is measured as a
guest (as the peer's stored figures were) with the same client, connections, duration
and CPU accounting, interleaved with our pages in every repetition; the summary gives
our requests per server CPU-s over FlaskBB's. A FlaskBB page that is not 2xx, or that
does not hold exactly the posts its page size should show, stops the run like ours.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import proc
from bench.servers import FLASKBB_TOPIC
from bench.servers import FLASKBB_TOPIC_POSTS
from bench.servers import PAGES_MEMBERS
from bench.servers import Seeded
from bench.servers import Server
from bench.servers import flaskbb_install
from bench.servers import remove_instance
from bench.servers import seed
from bench.servers import start_flaskbb
from bench.servers import start_ours
from forum import threads

HERE = Path(__file__).resolve().parent
STORED_FLASKBB = Path("/work/shared/bench/peer/results/flaskbb_topic.jsonl")
LOOPBACK_URL = re.compile(r"http://127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+/")
# The peer's post bodies begin "Thanks for sharing this, reply <i>." (<i> from 0)
FLASKBB_POST = re.compile(r"Thanks for sharing this, reply (\d+)\.")
PAGE_ORDER = ("front", "space", "thread50", "topic", "chatroom")  # "topic": FlaskBB's, between ours
GOAL_RATIO = 20.0  # issue #13: >= 20x FlaskBB's topic page per server CPU-s
GOAL_P50_MS = 10.0


def page_paths(seeded: Seeded) -> dict[str, str]:
    return {
        "front": "/",
        "space": f"/s/{seeded.space_id}",
        "thread50": f"/t/{seeded.thread_id}",
        "chatroom": f"/s/{seeded.space_id}/chat/{seeded.room_id}",
    }


def fetch(url: str, cookie: str, timeout: float = 10) -> tuple[int, int]:
    status, body = fetch_body(url, cookie, timeout)
    return status, len(body)


def fetch_body(url: str, cookie: str, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def run_wrk(url: str, cookie: str, conns: int, duration: float) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s",
         *(["-H", f"Cookie: {cookie}"] if cookie else []), url],
        capture_output=True, text=True, timeout=duration + 30, check=True,
    ).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(lat["50"]), "p99_ms": _ms(lat["99"]),
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0, "client": "wrk"}


def run_pool(url: str, cookie: str, conns: int, duration: float) -> dict[str, Any]:
    """Fallback client: ``conns`` threads in a closed loop for ``duration`` seconds."""
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    end = time.monotonic() + duration

    def worker() -> None:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                status, _ = fetch(url, cookie)
            except OSError:
                status = 0
            spent = time.perf_counter() - t0
            with lock:
                latencies.append(spent)
                bad[0] += status != 200

    with ThreadPoolExecutor(conns) as pool:
        for _ in range(conns):
            pool.submit(worker)
    latencies.sort()
    return {"rps": round(len(latencies) / duration, 2), "p50_ms": round(1000 * proc.quantile(latencies, 0.5), 2),
            "p99_ms": round(1000 * proc.quantile(latencies, 0.99), 2), "non2xx": bad[0], "socket_errors": 0,
            "client": "python-threads"}


def measure_page(server: Server, url: str, cookie: str, conns: int, duration: float,
                 client: str = "auto") -> dict[str, Any]:
    if not LOOPBACK_URL.match(url):
        raise ValueError("load targets must be on 127.0.0.1")
    use_wrk = client == "wrk" or (client == "auto" and shutil.which("wrk"))
    meter = proc.CpuMeter([server.pid])
    result = (run_wrk if use_wrk else run_pool)(url, cookie, conns, duration)
    result.update(meter.stop())
    result.update(server_rss_mib=round(proc.rss_mib(server.pid), 1),
                  server_peak_rss_mib=round(proc.peak_rss_mib(server.pid), 1),
                  loadavg_1m=round(proc.load_average(), 2))
    return result


class BenchFailure(RuntimeError):
    """A run that could not be measured honestly: its figures would be too low."""


def check_pages(server: Server, seeded: Seeded, cookie: str) -> dict[str, int]:
    """Each page answers 200 for the member (a benchmark of error pages measures nothing)."""
    sizes = {}
    for name, path in page_paths(seeded).items():
        try:
            status, size = fetch(server.origin + path, cookie)
        except OSError as error:  # urllib raises HTTPError (an OSError) for 4xx and 5xx
            raise BenchFailure(f"{server.name}: {name} ({path}) failed: {error}") from None
        if status != 200:
            raise BenchFailure(f"{server.name}: {name} ({path}) answered {status}")
        sizes[name] = size
    return sizes


def flaskbb_page_problem(html: str, posts: int) -> str | None:
    """Why FlaskBB's page is not the first page of the peer's topic at ``posts`` a page (None if it is)."""
    shown = sorted({int(i) for i in FLASKBB_POST.findall(html)})
    expected = list(range(min(posts, FLASKBB_TOPIC_POSTS)))
    if shown != expected:
        brief = f"{shown[:3]}...{shown[-3:]}" if len(shown) > 6 else str(shown)
        return f"shows {len(shown)} of the topic's posts {brief}, expected posts 0-{expected[-1]}"
    return None


def check_flaskbb(server: Server, posts: int) -> int:
    """FlaskBB's topic page answers 200 with the posts it must show; its size in bytes."""
    url = server.origin + FLASKBB_TOPIC
    try:
        status, body = fetch_body(url, "")
    except OSError as error:
        raise BenchFailure(f"{server.name}: topic ({FLASKBB_TOPIC}) failed: {error}") from None
    if status != 200:
        raise BenchFailure(f"{server.name}: topic ({FLASKBB_TOPIC}) answered {status}")
    if found := flaskbb_page_problem(body.decode("utf-8", "replace"), posts):
        raise BenchFailure(f"{server.name}: topic ({url}) {found}")
    return len(body)


def problems(result: dict[str, Any]) -> list[str]:
    """Why this result is not a measurement (empty when every request answered 2xx)."""
    found = []
    if result["non2xx"]:
        found.append(f"{result['non2xx']} responses were not 2xx")
    if result["socket_errors"]:
        found.append(f"{result['socket_errors']} requests failed (connect, read, write or timeout)")
    if not result["rps"]:
        found.append("no request completed")
    if math.isnan(result.get("server_cpu_pct", 0.0)):
        found.append("the server's CPU could not be read (its process is gone)")
    return found


def run(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    conns = [int(c) for c in args.conns.split(",")]
    servers: list[tuple[Server, Seeded]] = []
    peers: list[tuple[Server, int]] = []  # FlaskBB, posts a page
    install = flaskbb_install() if args.flaskbb else None  # before any seeding: a missing install fails fast
    t_end = time.monotonic() + args.budget
    try:
        for mode in args.modes.split(","):
            seeded = seed(PAGES_MEMBERS, pages=True)
            servers.append((start_ours(mode, seeded), seeded))
        for posts in flaskbb_posts(args) if install else []:
            try:
                peers.append((start_flaskbb(posts, install), posts))
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                raise BenchFailure(f"FlaskBB ({posts} posts a page) did not start: {error}") from None
        sizes: dict[str, dict[str, int]] = {}
        for server, seeded in servers:
            cookie = f"rb_session={seeded.tokens[0]}"
            sizes[server.name] = check_pages(server, seeded, cookie)
            print(f"{server.name}: page sizes {sizes[server.name]}", flush=True)
            for name, path in page_paths(seeded).items():  # warm-up, discarded
                warm = measure_page(server, server.origin + path, cookie, 1, 1, args.client)
                if found := problems(warm):
                    raise BenchFailure(f"{server.name} {name} warm-up: " + "; ".join(found))
        for server, posts in peers:
            sizes[server.name] = {"topic": check_flaskbb(server, posts)}
            print(f"{server.name}: topic page {sizes[server.name]['topic']} bytes, {posts} posts", flush=True)
            warm = measure_page(server, server.origin + FLASKBB_TOPIC, "", 1, 1, args.client)
            if found := problems(warm):
                raise BenchFailure(f"{server.name} topic warm-up: " + "; ".join(found))
        with out.open("a") as sink:
            for rep in range(args.reps):
                if rep > 0 and time.monotonic() > t_end:  # the first always runs
                    print("time budget used up; stopping", flush=True)
                    break
                for name in PAGE_ORDER:
                    for c in conns:
                        for server, url, cookie, posts in targets(name, servers, peers):  # interleaved
                            result = measure_page(server, url, cookie, c, args.duration, args.client)
                            result.update(server=server.name, page=name, conns=c, rep=rep, posts_on_page=posts,
                                          bytes=sizes[server.name][name], ts=round(time.time(), 1))
                            found = problems(result)
                            if server.kind == "flaskbb":  # still the topic's page after the load?
                                try:
                                    check_flaskbb(server, posts)
                                except BenchFailure as failure:
                                    found.append(str(failure))
                            if found:
                                result["failed"] = "; ".join(found)
                            sink.write(json.dumps(result) + "\n")
                            sink.flush()
                            if found:
                                raise BenchFailure(f"{server.name} {name} c={c} rep={rep}: {result['failed']}")
                            print(f"{server.name:20} {name:9} c={c} rep={rep} rps={result['rps']:.1f}"
                                  f" p50={result['p50_ms']:.1f} p99={result['p99_ms']:.1f}"
                                  f" cpu={result['server_cpu_pct']:.0f}% other={result['other_cpu_pct']:.0f}%"
                                  f" non2xx={result['non2xx']}", flush=True)
    finally:
        for server, seeded in servers:
            server.stop()
            remove_instance(seeded)
        for server, _ in peers:
            server.stop()
    return out


def flaskbb_posts(args: argparse.Namespace) -> list[int]:
    return [int(p) for p in args.flaskbb_posts.split(",")]


def targets(name: str, servers: list[tuple[Server, Seeded]],
            peers: list[tuple[Server, int]]) -> list[tuple[Server, str, str, int | None]]:
    """What to load for page ``name``: (server, URL, cookie, posts on the page) for each server."""
    if name == "topic":
        return [(server, server.origin + FLASKBB_TOPIC, "", posts) for server, posts in peers]
    return [(server, server.origin + page_paths(seeded)[name], f"rb_session={seeded.tokens[0]}",
             threads.POSTS_PER_PAGE if name == "thread50" else None) for server, seeded in servers]


def summarize(paths: list[Path], stored: Path | None = STORED_FLASKBB, max_other: float | None = None) -> str:
    """Medians per page and server; with ``max_other``, runs during which other processes
    (wrk included) used more CPU than that (% of one core) are left out, and counted."""
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    busy = [r for r in rows if max_other is not None and r.get("other_cpu_pct", 0.0) > max_other]
    rows = [r for r in rows if r not in busy]
    cells: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    failed = [r for r in rows if "failed" in r]
    for r in rows:
        if "failed" not in r:
            cells[(r["page"], r["conns"], r["server"])].append(r)
    med = proc.median
    lines = [("| page | conns | server | runs | requests/s | p50 ms | p99 ms | server CPU % | requests per"
             " server CPU-s | other CPU % | peak RSS MiB | non-2xx |"), "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rps: dict[tuple[str, int, str], float] = {}
    for (page, c, server), rs in sorted(cells.items()):
        rps[(page, c, server)] = med(r["rps"] for r in rs)
        eff = med(r["rps"] / (r["server_cpu_pct"] / 100) for r in rs if r["server_cpu_pct"] > 0)
        lines.append(f"| {page} | {c} | {server} | {len(rs)} | {rps[(page, c, server)]:.1f} |"
                     f" {med(r['p50_ms'] for r in rs):.1f} | {med(r['p99_ms'] for r in rs):.1f} |"
                     f" {med(r['server_cpu_pct'] for r in rs):.0f} | {eff:.1f} | {med(r['other_cpu_pct'] for r in rs):.0f} |"
                     f" {max(r['server_peak_rss_mib'] for r in rs):.0f} | {sum(r['non2xx'] for r in rs)} |")
    for r in failed:
        lines.append(f"| {r['page']} | {r['conns']} | {r['server']} | failed: {r['failed']} | | | | | | | | |")
    if busy:
        lines += ["", f"Left out: {len(busy)} runs during which other processes used more than {max_other:g} %"
                  " of a core."]
    lines += ["", "Ratios eventlet / gevent (requests/s medians):", ""]
    for (page, c, server), value in sorted(rps.items()):
        other = rps.get((page, c, "redbrolly-gevent"))
        if server == "redbrolly-eventlet" and other:
            lines.append(f"- {page}, {c} conn: {value / other:.2f}")
    if any(server.startswith("flaskbb-") for _, _, server in cells):
        lines += ["", flaskbb_ratios(cells)]
    elif stored is not None and stored.exists():
        lines += ["", flaskbb_table(stored)]
    return "\n".join(lines)


def per_cpu_second(rows: list[dict]) -> float:
    """Median over runs of requests/s divided by the server's CPU share (1.0 = one core)."""
    return proc.median(r["rps"] / (r["server_cpu_pct"] / 100) for r in rows if r["server_cpu_pct"] > 0)


def flaskbb_ratios(cells: dict[tuple[str, int, str], list[dict]]) -> str:
    """Our thread and chat room pages against FlaskBB's topic page measured in the same run."""
    peers = sorted({(c, server) for page, c, server in cells if page == "topic" and server.startswith("flaskbb-")},
                   key=lambda k: (k[0], int(k[1].split("-")[1])))
    lines = ["Against FlaskBB 2.2.0's topic page measured in the same runs (requests per server CPU-s, medians; goal:"
             f" ours >= {GOAL_RATIO:.0f}x FlaskBB and p50 < {GOAL_P50_MS:.0f} ms at one connection):", "",
             "| page | conns | server | ours per CPU-s | ours p50 ms | FlaskBB | FlaskBB per CPU-s | FlaskBB p50 ms"
             " | ratio | 20x | p50 goal |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for page in ("thread50", "chatroom"):
        for (page_, c, server), rows in sorted(cells.items()):
            if page_ != page or not server.startswith("redbrolly-"):
                continue
            ours, p50 = per_cpu_second(rows), proc.median(r["p50_ms"] for r in rows)
            for c_peer, peer in peers:
                if c_peer != c:
                    continue
                theirs = cells[("topic", c, peer)]
                peer_eff = per_cpu_second(theirs)
                ratio = ours / peer_eff if peer_eff else float("nan")
                lines.append(f"| {page} | {c} | {server} | {ours:.1f} | {p50:.1f} | {peer.split('-')[1]} posts a page"
                             f" | {peer_eff:.2f} | {proc.median(r['p50_ms'] for r in theirs):.1f} | {ratio:.1f}x |"
                             f" {'met' if ratio >= GOAL_RATIO else 'MISSED'} |"
                             f" {('met' if p50 < GOAL_P50_MS else 'MISSED') if c == 1 else '-'} |")
    return "\n".join(lines)


def flaskbb_table(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cells: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in rows:
        cells[(r["posts_per_page"], r["conns"])].append(r)
    lines = [(f"REFERENCE, not this run: FlaskBB 2.2.0 topic page, stored peer medians from {path}"
             " (measured earlier with wrk on a quieter machine):"), "",
             "| posts on page | conns | runs | requests/s | p50 ms | p99 ms | server CPU % |", "|---|---|---|---|---|---|---|"]
    for (posts, c), rs in sorted(cells.items()):
        lines.append(f"| {posts} | {c} | {len(rs)} | {proc.median(r['rps'] for r in rs):.1f} |"
                     f" {proc.median(r['p50_ms'] for r in rs):.1f} | {proc.median(r['p99_ms'] for r in rs):.1f} |"
                     f" {proc.median(r['server_cpu_pct'] for r in rs):.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="eventlet,gevent")
    ap.add_argument("--conns", default="1,4", help="concurrent connections")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--budget", type=float, default=300, help="no repetition after the first starts after this many seconds (seeding and start-up count)")
    ap.add_argument("--out", default=str(HERE / "results" / "pages.jsonl"))
    ap.add_argument("--summarize", nargs="*")
    ap.add_argument("--max-other", type=float, help="with --summarize: leave out runs with more other CPU %% than this")
    ap.add_argument("--flaskbb", action="store_true",
                    help="measure FlaskBB 2.2.0's topic page beside ours (RB_BENCH_FLASKBB names its scratch install)")
    ap.add_argument("--flaskbb-posts", default="20,50",
                    help="FlaskBB page sizes (posts a page) to run, each a server of its own")
    args = ap.parse_args(argv)
    if args.summarize:
        print(summarize([Path(p) for p in args.summarize], max_other=args.max_other))
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
    except FileNotFoundError as missing:
        print(f"\nFAILED: {missing}", file=sys.stderr, flush=True)
        return 2
    except BenchFailure as failure:
        print(f"\nFAILED: a page did not answer as it must, so no figure is printed:\n{failure}",
              file=sys.stderr, flush=True)
        return 1
    rows = [line for line in out.read_text().splitlines() if line.strip() and json.loads(line)["ts"] >= started - 1]
    scratch = out.with_suffix(".last.jsonl")
    scratch.write_text("\n".join(rows) + "\n")
    print(f"\nload average after: {proc.load_average():.2f}; all rows appended to {out}\n")
    print(summarize([scratch]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
