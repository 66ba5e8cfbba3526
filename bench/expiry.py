"""Expiry at scale: sweeping many expired chat messages out of a big SQLite table while
someone chats.

    python -m bench.expiry                          # 10,000,000 messages; 100,000 then 1,000,000 expired
    python -m bench.expiry --total 1000000          # smaller (or RB_BENCH_EXPIRY_TOTAL=1000000)

Phases, each on a fresh instance (``--small`` rows with the first figure expired, then
``--total`` rows with each figure of ``--expired``):

1. **Seed** a real instance: the schema from the migrations (as the app creates it),
   accounts, ``--spaces`` spaces with their rooms, and a sample of messages written
   through ``chat.post_message`` (the model layer). The bulk rows go in with one
   ``executemany`` per chunk on the same file: the same columns as the sample rows
   (checked), timestamps in the stored text form the sample shows, bodies and their
   stored HTML sealed by ``forum/sealed.py`` (``sealed.seal_for``) under the key of their
   space and hour of expiry, from a pool of sealed bodies per epoch (a row shares its ciphertext with a few
   others of its epoch: same size and key as the app's own, only the nonce repeats).
   The three plain indexes are dropped during the load and made again from the very SQL
   the migrations wrote (``sqlite_master`` is compared before and after); the two unique
   ones stay live. Rooms' ``last_seq`` is set to their highest message number.
   Messages were written over the last day (chat retention 24 hours, the default);
   the expired ones are the oldest, due in the hour before the seed.
2. **Serve** it with ``python -m forum`` (``--mode``, gevent by default, ``bench/servers.py``, its own sweeper
   off) and connect one Socket.IO client that sends a chat message every
   ``--interval`` seconds (50 ms) to a room with millions of messages, and times each ack.
3. **Sweep** with ``flask --app forum expire``, the command the systemd timer runs
   (``forum.expiry.delete_expired`` then the upkeep; the server's own sweeper runs the
   same function), while the client chats. Figures: the sweep's time (as the command
   prints it, and the process's wall time), rows deleted, and the ack latency (median,
   p99, max) of messages sent during the sweep, beside the same client's acks before it.

Checked, and the command exits 1 when any fails: every message acked (none refused,
none missing after a drain), the sweep deleted exactly the expired rows, the rows left
are the live ones plus what the client sent, nothing due is left, and every ended
epoch's key is gone from the vault. The ack goal (<= 100 ms during the sweep) is a
figure, not a failure: a miss is printed as a miss.

Results append to ``bench/results/expiry.jsonl``. Disk: about 0.45 GB per million
messages, in a temporary folder (``--instance-dir``), removed after each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import proc
from bench.servers import LOAD_ENV
from bench.servers import Seeded
from bench.servers import _seed_config
from bench.servers import remove_instance
from bench.servers import seed
from bench.wire import SocketIOClient
from forum import aliases
from forum import clock
from forum import disk
from forum import markdown
from forum import sealed
from forum import spaces
from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Space
from realtime import chat
from realtime.models import ChatMessage
from realtime.models import ChatRoom
from tests.live import ROOT
from tests.live import start_server

HERE = Path(__file__).resolve().parent
AUTHORS = 8  # members who wrote the seeded messages (the first one also chats during the sweep)
RETENTION = timedelta(hours=24)  # the default chat retention (Space.chat_retention_hours)
EXPIRED_SPAN = timedelta(hours=1)  # the expired rows came due over the hour before the seed
LIVE_AFTER = timedelta(
    hours=3
)  # the live ones are due from 3 hours after it: none comes due in a run
POOL = 8  # sealed bodies per epoch (space x hour of expiry)
CHUNK = 100_000
BODIES = [
    "are you ok? text me when you get there",
    "anyone know a safe place to work near the station tonight? the usual one closed last week",
    "thanks for the warning about that number, he called me too. blocked him and told the others",
    "ok",
    "what do you all charge for an overnight now? prices went up where I am and I'm not sure what's fair anymore",
    "I'm going to the clinic tomorrow morning if anyone wants to come along",
]
DELETED = re.compile(r"Deleted (\d+) expired chat\.")
SWEPT = re.compile(r"Swept in ([0-9.]+) s\.")


class BenchFailure(RuntimeError):
    """A run that cannot be a figure: an error, a missed ack, a wrong count."""


@dataclass
class Instance:
    seeded: Seeded
    total: int
    expired: int
    seed_at: datetime
    seed_s: float
    db_path: Path
    chat_room: int
    extra: dict[str, Any] = field(default_factory=dict)


# --- seeding ---------------------------------------------------------------------------


def _stored_time(when: datetime) -> str:
    """The text UTCDateTime stores on SQLite (checked against a row the app wrote)."""
    return (
        when.astimezone(timezone.utc)
        .replace(tzinfo=None)
        .isoformat(sep=" ", timespec="microseconds")
    )


def seed_instance(total: int, expired: int, n_spaces: int, base_dir: str | None = None) -> Instance:
    """A real instance with ``total`` chat messages, ``expired`` of them due (see the module doc)."""
    if not 0 <= expired <= total:
        raise ValueError("expired must be between 0 and total")
    started = time.perf_counter()
    seeded = seed(AUTHORS, base_dir=base_dir)
    db_path = seeded.instance / "redbrolly.db"
    app = create_app(_seed_config(seeded.instance))
    with app.app_context():
        now = clock.now().replace(microsecond=0)
        admin = db.session.scalar(sa.select(Account).where(Account.alias == "bench-admin"))
        authors = db.session.scalars(
            sa.select(Account).where(Account.alias.like("bench0%")).order_by(Account.id)
        ).all()
        space_ids = [db.session.scalar(sa.select(Space.id).where(Space.slug == seeded.space_slug))]
        for k in range(1, n_spaces):
            space = spaces.create_space(admin, name=f"Bench space {k}", slug=f"bench-space-{k}")
            chat.ensure_default_room(space.id)
            for account in authors:
                db.session.add(
                    Membership(
                        space_id=space.id,
                        account_id=account.id,
                        role="member",
                        name_key=aliases.alias_skeleton(account.alias),
                        joined_at=now,
                    )
                )
            db.session.commit()
            space_ids.append(space.id)
        rooms = {
            space_id: db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == space_id))
            for space_id in space_ids
        }
        # The model layer writes one message per author and room: the rows the bulk copies.
        names: dict[tuple[int, int], str] = {}
        for space_id, room_id in rooms.items():
            for i, account in enumerate(authors):
                message, _new = chat.post_message(
                    account, room_id, f"sample-{space_id}-{i:04d}", BODIES[i % len(BODIES)]
                )
                names[(space_id, account.id)] = message.author_name
        samples = len(rooms) * len(authors)
        if total < samples:
            raise ValueError(f"total must be at least {samples} (the sample rows)")
        columns = [
            row[1] for row in db.session.execute(sa.text("PRAGMA table_info(chat_messages)"))
        ]
        sample = (
            db.session.execute(sa.text("SELECT * FROM chat_messages ORDER BY id DESC LIMIT 1"))
            .mappings()
            .one()
        )
        written = db.session.get(ChatMessage, sample["id"])
        if sample["expires_at"] != _stored_time(written.expires_at):
            raise BenchFailure(f"stored time form changed: {sample['expires_at']!r}")
        if not (sample["body"].startswith(sealed.MAGIC) and sample["body_html"].startswith(sealed.MAGIC)):
            raise BenchFailure("the sample body or its HTML is not sealed")
        # Sealed bodies per (space, hour of expiry), through the app's own sealing code.
        bulk = total - samples
        first_expiry = now - EXPIRED_SPAN
        live = bulk - expired
        last_expiry = now + RETENTION - timedelta(minutes=1)
        pool: dict[tuple[int, int], list[tuple[str, str]]] = {}
        hour = int(first_expiry.timestamp()) // 3600 * 3600 - 3600
        while hour <= int(last_expiry.timestamp()) + 3600:
            for space_id in space_ids:
                when = datetime.fromtimestamp(hour + 1800, timezone.utc)
                pool[(space_id, hour)] = [
                    tuple(  # the body and its stored HTML, sealed under the same key
                        sealed.seal_for(ChatMessage, text, space_id=space_id, expires_at=when)
                        for text in (
                            BODIES[j % len(BODIES)],
                            str(markdown.render_inline(BODIES[j % len(BODIES)])),
                        )
                    )
                    for j in range(POOL)
                ]
            hour += 3600
        first_id = int(sample["id"]) + 1
        seqs = {
            room_id: db.session.scalar(sa.select(ChatRoom.last_seq).where(ChatRoom.id == room_id))
            for room_id in rooms.values()
        }
        author_ids = [a.id for a in authors]
        chatter_room = rooms[space_ids[0]]
        db.session.remove()
        db.engine.dispose()
    expected = {
        "id",
        "room_id",
        "space_id",
        "seq",
        "author_id",
        "author_name",
        "client_id",
        "body",
        "created_at",
        "expires_at",
        "hidden_at",
        "body_html",
    }
    if set(columns) != expected:
        raise BenchFailure(
            f"chat_messages has columns {columns}: teach bench/expiry.py the new ones"
        )

    expired_step = EXPIRED_SPAN.total_seconds() / max(expired, 1)
    live_start = now + LIVE_AFTER
    live_step = (last_expiry - live_start).total_seconds() / max(live, 1)
    space_list = list(rooms)

    def rows():
        for n in range(bulk):
            if n < expired:
                due = first_expiry.timestamp() + n * expired_step
            else:
                due = live_start.timestamp() + (n - expired) * live_step
            space_id = space_list[n % len(space_list)]
            room_id = rooms[space_id]
            author = author_ids[(n // len(space_list)) % len(author_ids)]
            seqs[room_id] += 1
            expires = datetime.fromtimestamp(due, timezone.utc)
            epoch = (int(due) - 1) // 3600 * 3600  # as sealed.epoch_of
            body, html = pool[(space_id, epoch)][n % POOL]
            yield (
                first_id + n,
                room_id,
                space_id,
                seqs[room_id],
                author,
                names[(space_id, author)],
                f"c{first_id + n:035d}",
                body,
                _stored_time(expires - RETENTION),
                _stored_time(expires),
                None,
                html,
            )

    connection = disk.sqlite_module().connect(str(db_path), isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-512000")
        master_before = _schema(connection)
        plain = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'chat_messages'"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in plain:
            connection.execute(f'DROP INDEX "{name}"')
        insert = (
            f"INSERT INTO chat_messages ({', '.join(sorted(expected, key=list(columns).index))})"
            f" VALUES ({', '.join('?' * len(expected))})"
        )
        generator = rows()
        while True:
            chunk = [row for _, row in zip(range(CHUNK), generator, strict=False)]
            if not chunk:
                break
            connection.execute("BEGIN")
            connection.executemany(insert, chunk)
            connection.execute("COMMIT")
        for _name, sql in plain:
            connection.execute(sql)
        connection.execute(
            "UPDATE chat_rooms SET last_seq = (SELECT max(seq) FROM chat_messages"
            " WHERE room_id = chat_rooms.id)"
        )
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if _schema(connection) != master_before:
            raise BenchFailure("the schema after the bulk load differs from the migrations'")
        count, due = connection.execute(
            "SELECT count(*), sum(expires_at <= ?) FROM chat_messages", (_stored_time(now),)
        ).fetchone()
    finally:
        connection.close()
    # The bulk load leaves hundreds of MB for the kernel to write back, and the server's
    # first WAL checkpoint (it fsyncs this file) came 0.2 s into the sweep: that commit
    # took 330-370 ms in two quiet runs, 54 ms in one with this sync first (2026-12-03).
    # A server does not start beside its own bulk load of the database.
    os.sync()
    if (count, due) != (total, expired):
        raise BenchFailure(f"seeded {count} messages, {due} due; wanted {total}, {expired}")
    return Instance(
        seeded, total, expired, now, round(time.perf_counter() - started, 1), db_path, chatter_room
    )


def _schema(connection: Any) -> list[tuple]:
    return connection.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()


# --- the chatting client --------------------------------------------------------------


class Chatter:
    """One client sending a message every ``interval`` s; the ack time of each."""

    def __init__(
        self, port: int, origin: str, token: str, room_id: int, last_seq: int, interval: float
    ) -> None:
        self.port, self.origin, self.token, self.room_id, self.interval = (
            port,
            origin,
            token,
            room_id,
            interval,
        )
        self.last_seq = last_seq
        self.sent: dict[int, float] = {}
        self.acked: dict[int, float] = {}
        self.errors: list[str] = []
        self.client: SocketIOClient | None = None
        self.stop = False

    async def connect(self) -> None:
        headers = {"Origin": self.origin, "Cookie": f"rb_session={self.token}"}
        self.client = SocketIOClient(
            "127.0.0.1", self.port, "/chat", headers, lambda *a: None, raw=True
        )
        await self.client.connect()
        # after the room's last message: the join's history is not what is measured
        answer = await self.client.call(
            "join", {"room_id": self.room_id, "after_seq": self.last_seq}
        )
        if not answer.get("ok"):
            raise BenchFailure(f"join refused: {answer}")

    def _ack(self, n: int, answer: Any) -> None:
        if isinstance(answer, dict) and answer.get("ok"):
            self.acked[n] = time.perf_counter()
        else:
            self.errors.append(str(answer)[:200])

    async def run(self) -> None:
        start = time.perf_counter()
        n = 0
        while not self.stop:
            due = start + n * self.interval
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            self.sent[n] = time.perf_counter()
            self.client.emit(
                "send",
                {
                    "room_id": self.room_id,
                    "client_id": f"sweep-bench-{n:08d}",
                    "body": f"still here {n}",
                },
                ack=lambda answer, n=n: self._ack(n, answer),
            )
            n += 1

    async def drain(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and len(self.acked) + len(self.errors) < len(
            self.sent
        ):
            await asyncio.sleep(0.05)

    def latencies(self, t0: float, t1: float) -> dict[str, Any]:
        """Ack latency (ms) of the messages sent in [t0, t1]; unanswered ones are ``missed``."""
        window = [n for n, sent in self.sent.items() if t0 <= sent <= t1]
        values = sorted(1000 * (self.acked[n] - self.sent[n]) for n in window if n in self.acked)
        return {
            "sent": len(window),
            "missed": sum(1 for n in window if n not in self.acked),
            "p50": round(proc.quantile(values, 0.5), 1),
            "p99": round(proc.quantile(values, 0.99), 1),
            "max": round(values[-1], 1) if values else float("nan"),
        }


# --- one phase --------------------------------------------------------------------------


def _count(db_path: Path, where: str = "1", *params: Any) -> int:
    connection = disk.sqlite_module().connect(str(db_path))
    try:
        return connection.execute(
            f"SELECT count(*) FROM chat_messages WHERE {where}", params
        ).fetchone()[0]
    finally:
        connection.close()


def _ended_keys(vault_path: Path, at: datetime) -> int:
    connection = disk.sqlite_module().connect(str(vault_path))
    try:
        return connection.execute(
            "SELECT count(*) FROM seal_keys WHERE length > 0 AND start + length <= ?",
            (int(at.timestamp()),),
        ).fetchone()[0]
    finally:
        connection.close()


def run_phase(label: str, total: int, expired: int, args: argparse.Namespace) -> dict[str, Any]:
    inst = seed_instance(total, expired, args.spaces, args.instance_dir)
    result: dict[str, Any] = {
        "phase": label,
        "total": total,
        "expired": expired,
        "spaces": args.spaces,
        "mode": args.mode,
        "seed_s": inst.seed_s,
        "interval_ms": round(1000 * args.interval),
        "db_mib": round(inst.db_path.stat().st_size / 2**20),
    }
    print(
        f"[{label}] seeded {total:,} messages ({expired:,} expired) in {inst.seed_s:.0f} s,"
        f" {result['db_mib']:,} MiB",
        flush=True,
    )
    try:
        result.update(_serve_and_sweep(label, inst, args))
        left = _count(inst.db_path)
        due_left = _count(inst.db_path, "expires_at <= ?", _stored_time(inst.seed_at))
        keys_left = _ended_keys(
            inst.db_path.with_name(inst.db_path.stem + ".vault.db"), inst.seed_at
        )
    finally:  # a failed phase too: its gigabytes must not stay behind
        if not args.keep:
            remove_instance(inst.seeded)
    stored = result["chat_acked"]
    result.update(
        rows_left=left,
        rows_left_expected=total - expired + stored,
        due_left=due_left,
        ended_keys_left=keys_left,
        loadavg_1m=round(proc.load_average(), 2),
        ts=round(time.time(), 1),
    )
    found = problems(result)
    if found:
        result["failed"] = "; ".join(found)
    return result


def _serve_and_sweep(label: str, inst: Instance, args: argparse.Namespace) -> dict[str, Any]:
    # The client is timed in this process, which also built the seeding app: a full
    # garbage collection of that heap (290 ms logged here) would count as the server's.
    gc.collect()
    gc.freeze()
    env = dict(LOAD_ENV)
    if args.sweeper == "server":
        # Its start-up sweep (then one an hour) is the one measured: a server that comes
        # back to a backlog after a stop; clients reconnect at once.
        env["RB_SWEEP_INTERVAL"] = "3600"
    server = start_server(
        mode=args.mode, extra_env=env, instance=inst.seeded.instance, init_db=False
    )
    inst.extra["ready"] = time.perf_counter()
    try:
        outcome: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: outcome.update(_chat_and_sweep(server, inst, args)), daemon=True
        )
        worker.start()
        worker.join(args.limit)
        if worker.is_alive():
            raise BenchFailure(f"[{label}] did not end within {args.limit:.0f} s")
        if "error" in outcome:
            raise outcome["error"]
        return {"sweeper": args.sweeper, **outcome}
    finally:
        server.stop()
        gc.unfreeze()  # (the tests run this in their own process)


def _chat_and_sweep(server: Any, inst: Instance, args: argparse.Namespace) -> dict[str, Any]:
    try:
        return asyncio.run(_chat_and_sweep_async(server, inst, args))
    except BaseException as error:  # noqa: BLE001 - handed to the caller
        return {"error": error}


async def _chat_and_sweep_async(
    server: Any, inst: Instance, args: argparse.Namespace
) -> dict[str, Any]:
    chatter = Chatter(
        server.port, server.url, inst.seeded.tokens[0], inst.chat_room, inst.total, args.interval
    )
    if args.sweeper == "server":
        return await _in_server(server, inst, args, chatter)
    await chatter.connect()
    sending = asyncio.create_task(chatter.run())
    try:
        t_before = time.perf_counter()
        await asyncio.sleep(args.before)
        env = {
            **server.env,
            "RB_ASYNC_MODE": "threading",
        }  # as deploy/systemd/redbrolly-expire.service
        spy = await _profile(server.process.pid, f"server-{inst.total}-{inst.expired}")
        meter = proc.CpuMeter([server.process.pid])
        t0 = time.perf_counter()
        sweep = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "flask",
            "--app",
            "forum",
            "expire",
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=lambda: os.nice(UNIT_NICE),
        )
        output, _ = await sweep.communicate()
        t1 = time.perf_counter()
        cpu = meter.stop()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await spy.wait()
        await asyncio.sleep(args.after)
    finally:
        chatter.stop = True
        await sending
    await chatter.drain(args.drain)
    await chatter.client.close()
    text = output.decode(errors="replace")
    deleted = DELETED.search(text)
    swept = SWEPT.search(text)
    before = chatter.latencies(t_before, t0)
    during = chatter.latencies(t0, t1)
    return {
        "sweep_exit": sweep.returncode,
        "sweep_output": text[-600:] if sweep.returncode else "",
        "deleted": int(deleted.group(1)) if deleted else None,
        "sweep_s": float(swept.group(1)) if swept else None,
        "sweep_process_s": round(t1 - t0, 2),
        "ack_before_ms": before,
        "ack_during_ms": during,
        "chat_sent": len(chatter.sent),
        "chat_acked": len(chatter.acked),
        "errors": len(chatter.errors),
        "error_samples": sorted(set(chatter.errors))[:3],
        "disconnected": chatter.client.lost,
        **{f"sweep_{k}": v for k, v in cpu.items()},
    }


async def _profile(pid: int, name: str) -> Any:
    """``RB_BENCH_PYSPY=/path/to/py-spy``: record the server during the sweep (raw stacks in
    ``RB_BENCH_PYSPY_DIR``, default /tmp)."""
    spy = os.environ.get("RB_BENCH_PYSPY")
    if not spy:
        return None
    folder = Path(os.environ.get("RB_BENCH_PYSPY_DIR", "/tmp"))
    return await asyncio.create_subprocess_exec(
        spy,
        "record",
        "-p",
        str(pid),
        "-r",
        "200",
        "-f",
        "raw",
        "-o",
        str(folder / f"{name}.txt"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _trace(chatter: Chatter, t0: float, name: str) -> None:
    """``RB_BENCH_TRACE=folder``: each message's send time (s from the sweep's start) and ack ms."""
    folder = os.environ.get("RB_BENCH_TRACE")
    if folder:
        lines = [
            f"{chatter.sent[n] - t0:.3f} {1000 * (chatter.acked[n] - chatter.sent[n]):.1f}"
            for n in sorted(chatter.sent)
            if n in chatter.acked
        ]
        Path(folder, f"trace-{name}.txt").write_text("\n".join(lines) + "\n")


def _swept(db_path: Path, at: datetime) -> bool:
    """Nothing due left, and every ended epoch's key gone (the sweep's last step)."""
    vault = db_path.with_name(db_path.stem + ".vault.db")
    return not _any_due(db_path, _stored_time(at)) and not _ended_keys(vault, at)


def _any_due(db_path: Path, at: Any) -> bool:
    """Whether one due row is left: asked every 0.2 s during the sweep, so it must stop at
    the first row (``count(*) ... LIMIT 1`` counted every due row: LIMIT cuts the result,
    not the scan, and that read ran beside the sweep it measured)."""
    connection = disk.sqlite_module().connect(str(db_path))
    try:
        return bool(
            connection.execute(
                "SELECT EXISTS (SELECT 1 FROM chat_messages WHERE expires_at <= ?)", (at,)
            ).fetchone()[0]
        )
    finally:
        connection.close()


async def _in_server(
    server: Any, inst: Instance, args: argparse.Namespace, chatter: Chatter
) -> dict[str, Any]:
    """The server's own sweeper: it started sweeping when the server came up (``ready``);
    the client connects then and chats until the backlog is gone, then ``after`` more."""
    t0 = inst.extra["ready"]
    spy = await _profile(server.process.pid, f"server-{inst.total}-{inst.expired}")
    meter = proc.CpuMeter([server.process.pid])
    await chatter.connect()
    joined = time.perf_counter()
    sending = asyncio.create_task(chatter.run())
    try:
        while not await asyncio.to_thread(_swept, inst.db_path, inst.seed_at):
            if time.perf_counter() - t0 > args.limit:
                raise BenchFailure("the server's sweep did not end")
            if "expiry sweep failed" in server.log():  # its next try is an hour away
                failed = [line for line in server.log().splitlines() if "failed:" in line]
                raise BenchFailure(f"the server's sweep failed; its log: {sorted(set(failed))[:4]}")
            await asyncio.sleep(0.2)
        t1 = time.perf_counter()
        cpu = meter.stop()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await spy.wait()
        await asyncio.sleep(args.after)
        t2 = time.perf_counter()
    finally:
        chatter.stop = True
        await sending
    await chatter.drain(args.drain)
    await chatter.client.close()
    _trace(chatter, t0, f"{inst.total}-{inst.expired}")
    return {
        "sweep_exit": 0,
        "deleted": inst.expired,  # checked below: the rows left, and nothing due
        "sweep_s": round(t1 - t0, 2),
        "sweep_process_s": None,
        "join_s": round(joined - t0, 2),
        "ack_before_ms": chatter.latencies(t1, t2),  # the baseline: right after the sweep
        "ack_during_ms": chatter.latencies(t0, t1),
        "chat_sent": len(chatter.sent),
        "chat_acked": len(chatter.acked),
        "errors": len(chatter.errors),
        "error_samples": sorted(set(chatter.errors))[:3],
        "disconnected": chatter.client.lost,
        **{f"sweep_{k}": v for k, v in cpu.items()},
    }


def problems(r: dict[str, Any]) -> list[str]:
    """Why this phase is not a figure (empty when everything was counted right)."""
    found = []
    if r.get("sweep_exit"):
        found.append(f"flask expire exited {r['sweep_exit']}: {r.get('sweep_output', '')[-300:]}")
    if r.get("errors"):
        found.append(f"{r['errors']} sends refused, e.g. {'; '.join(r['error_samples'])}")
    if r.get("disconnected"):
        found.append("the chatting client lost its connection")
    if r.get("chat_acked") != r.get("chat_sent"):
        found.append(f"{r['chat_sent'] - r['chat_acked']} of {r['chat_sent']} messages never acked")
    if r.get("deleted") != r["expired"]:
        found.append(f"the sweep deleted {r.get('deleted')} messages, {r['expired']} were due")
    if r.get("sweep_s") is None:
        found.append("the sweep printed no time")
    if r.get("rows_left") != r.get("rows_left_expected"):
        found.append(f"{r.get('rows_left')} messages left, {r.get('rows_left_expected')} expected")
    if r.get("due_left"):
        found.append(f"{r['due_left']} due messages left")
    if r.get("ended_keys_left"):
        found.append(f"{r['ended_keys_left']} keys of ended epochs left in the vault")
    if not r.get("ack_during_ms", {}).get("sent") and (r.get("sweep_s") or 0) > 2:
        # (a sweep of a few rows may end before the client's first message: no figure then)
        found.append("no message was sent during the sweep")
    return found


# --- the command -----------------------------------------------------------------------


def _line(r: dict[str, Any]) -> str:
    if "failed" in r and "ack_during_ms" not in r:
        return f"[{r['phase']}] FAILED {r['failed']}"
    b, d = r["ack_before_ms"], r["ack_during_ms"]
    goal = "met" if d["max"] <= GOAL_MS else "MISS"
    return (
        f"[{r['phase']}] {r['total']:>11,} messages, {r['expired']:>9,} expired: sweep {r['sweep_s']} s"
        + (
            f" (process {r['sweep_process_s']} s)"
            if r.get("sweep_process_s")
            else f" ({r['sweeper']})"
        )
        + f", {r['deleted']:,} deleted;"
        f" ack during sweep p50 {d['p50']} / p99 {d['p99']} / max {d['max']} ms ({d['sent']} sent) [{goal}]"
        f"; {'before' if r.get('sweeper') == 'cli' else 'after'} it p50 {b['p50']} / p99 {b['p99']} / max {b['max']} ms; server CPU {r['sweep_server_cpu_pct']}%,"
        f" other {r['sweep_other_cpu_pct']}%, load {r['loadavg_1m']}"
        + (f"  FAILED {r['failed']}" if "failed" in r else "")
    )


GOAL_MS = 100.0
UNIT = ROOT / "deploy" / "systemd" / "redbrolly-expire.service"
# The sweep runs with the CPU priority its systemd unit gives it (Nice=), read from the unit.
UNIT_NICE = int(re.search(r"^Nice=(-?\d+)$", UNIT.read_text(), re.M).group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--total",
        type=int,
        default=int(os.environ.get("RB_BENCH_EXPIRY_TOTAL", 10_000_000)),
        help="messages in the big table (env RB_BENCH_EXPIRY_TOTAL)",
    )
    ap.add_argument(
        "--small", type=int, default=200_000, help="messages in the small table (0: skip it)"
    )
    ap.add_argument(
        "--expired", default="100000,1000000", help="expired messages per big-table phase"
    )
    ap.add_argument(
        "--spaces", type=int, default=10, help="spaces (a room each); keys are per space and hour"
    )
    ap.add_argument(
        "--interval", type=float, default=0.05, help="seconds between the client's messages"
    )
    ap.add_argument(
        "--before", type=float, default=3.0, help="seconds of chat before the sweep starts"
    )
    ap.add_argument("--after", type=float, default=1.0, help="seconds of chat after it ends")
    ap.add_argument("--drain", type=float, default=30.0, help="seconds the last acks may take")
    ap.add_argument(
        "--limit", type=float, default=3600.0, help="seconds a phase may take after seeding"
    )
    ap.add_argument("--instance-dir", help="parent folder of the temporary instances")
    ap.add_argument(
        "--sweeper",
        choices=("server", "cli"),
        default="server",
        help="server: the app's own background sweeper (its start-up sweep); cli: flask expire"
        " (the systemd timer's command) while the server serves the client",
    )
    ap.add_argument(
        "--mode",
        choices=("gevent", "eventlet"),
        default="gevent",
        help="the server's async mode (gevent: the production default)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the instances (for a profile)")
    ap.add_argument("--out", default=str(HERE / "results" / "expiry.jsonl"))
    args = ap.parse_args(argv)
    expired = [int(x) for x in args.expired.split(",") if x]
    phases = ([("small", args.small, expired[0])] if args.small else []) + [
        ("big", args.total, e) for e in expired
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failures = []
    print(f"load average before: {proc.load_average():.2f}", flush=True)
    try:
        for label, total, due in phases:
            try:
                result = run_phase(label, total, due, args)
            except Exception as error:  # noqa: BLE001 - recorded, then the command fails
                result = {
                    "phase": label,
                    "total": total,
                    "expired": due,
                    "failed": repr(error)[:500],
                    "ts": round(time.time(), 1),
                }
            with out.open("a") as sink:
                sink.write(json.dumps(result) + "\n")
            print(_line(result), flush=True)
            if "failed" in result:
                failures.append(f"[{label}] {result['failed']}")
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"load average after: {proc.load_average():.2f}; rows appended to {out}", flush=True)
    if failures:
        print("\nFAILED: not a figure:\n" + "\n".join(failures), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
