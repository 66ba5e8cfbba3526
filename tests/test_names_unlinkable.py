"""Indistinguishable names: one person behind two names looks exactly like two people.

The same script runs in two worlds:

- world 1: one account, "Mona" (everyday alias) in an open space and "Rosa" (a name
  used only there) in a closed one, from one browser and one socket;
- world 2: two accounts, "Mona" in the open space and "Nell" as "Rosa" in the closed one
  (world 1 has Zed, who takes no part, in Nell's place: the same number of accounts,
  sessions and sockets).

Xena, a member of both spaces, reads pages, searches, follows threads, listens on her
socket, blocks, flags. Everything she gets (status codes, redirects, page bodies, socket
events, acks, error messages) must be identical in both worlds, byte for byte once the
per-request CSRF token is masked. The clock is frozen at the same instant in both worlds,
so times need no masking, and the script creates every row in the same order, so ids
match too: an id that differed would be a link, and is not masked.

Timing: what each of Xena's requests costs the database (SQLite virtual-machine
instructions, see ``Steps``) is compared too, within a small noise, and so is each
chat message and typing event of Mona and Rosa (their cost decides how soon Xena
hears of them). Wall-clock times under noise are measured by
``bench/names_timing.py`` (docs/PRIVACY.md).
"""

from __future__ import annotations

import contextvars
import re
import shutil
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from limits import parse as parse_rate

from forum import accounts
from forum import threads
from forum.app import create_app
from forum.errors import RateLimited
from forum.extensions import db
from forum.extensions import socketio
from forum.models import Account
from forum.models import Post
from forum.models import Thread
from forum.safety import alerts
from forum.safety.models import BadDateReport
from forum.safety.models import SafetySettings
from realtime import chat
from realtime.models import ChatRoom
from tests.factories import add_member
from tests.factories import make_space
from tests.factories import season
from tests.support import PASSPHRASE
from tests.support import IsolatedClient
from tests.support import base_config
from tests.support import login
from tests.support import post as post_form
from tests.support import scrub

NS = "/chat"
TYPING_WINDOW = parse_rate(chat.TYPING_RATE).get_expiry() + 0.2  # seconds, with a margin
ORIGIN = "http://localhost"
START = datetime(2026, 3, 2, 12, 0, 0, tzinfo=timezone.utc)
# Chat messages per hour for a new name (the two-worlds script sends a few per round,
# then a burst of CHAT_BURST that only a trusted name gets through entirely).
CHAT_NEW = 10
CHAT_BURST = 8


class Sock:
    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.raw = contextvars.Context().run(
            socketio.test_client,
            app,
            namespace=NS,
            flask_test_client=client,
            headers={"Origin": ORIGIN},
        )
        assert self.raw.is_connected(NS)

    def ack(self, event: str, data: object = None) -> Any:
        return contextvars.Context().run(self.raw.emit, event, data, namespace=NS, callback=True)

    def received(self) -> list:
        return [
            (e["name"], e["args"]) for e in contextvars.Context().run(self.raw.get_received, NS)
        ]


class Steps:
    """The database work an action costs: SQLite virtual-machine instructions, counted by
    a progress handler on every connection (every STEP instructions). The count depends
    only on the data and the queries, never on the machine's speed or load, so the two
    worlds can be compared exactly: an action whose cost grew with the other name's
    history (a COUNT over the account's posts, say) shows here as a difference, which a
    stopwatch could only guess at under noise."""

    def __init__(self, engine: sa.Engine) -> None:
        self.n = 0
        sa.event.listen(engine, "connect", self._install)
        engine.dispose()  # every connection from now on is counted

    def _install(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_progress_handler(self._tick, STEP)

    def _tick(self) -> int:
        self.n += 1
        return 0  # go on


STEP = 1  # every instruction
# Two runs of the same world differ by a few instructions: socket ids and session tokens
# are random, and the order of random keys in an index decides how far some scans go
# before a match. Reading one row more costs tens of instructions; a name's history of
# 55 posts, hundreds.
COST_NOISE = 16


@dataclass
class World:
    app: Flask
    clients: dict[str, FlaskClient]
    steps: Steps
    socks: dict[str, Sock] = field(default_factory=dict)
    seen: list[tuple[str, Any]] = field(default_factory=list)
    n: int = 0
    typed: dict[str, float] = field(default_factory=dict)  # name -> when it last typed

    # --- acting -------------------------------------------------------------------

    def cost(self, label: str, before: int) -> None:
        """What the last action cost the database (compared between the worlds too)."""
        self.seen.append((f"cost {label}", self.steps.n - before))

    def form(self, who: str, path: str, data: dict[str, Any] | None = None) -> None:
        """``who`` submits a form. Only Xena's answers, and what they cost, are recorded
        (she is the observer; others' answers carry their own page, their own alert
        banners for instance, which only they see)."""
        before = self.steps.n
        response = post_form(self.clients[who], path, data or {})
        if who == "Xena":
            self.cost(f"POST {path}", before)
            self._record(f"POST {path}", response)
            if response.status_code in (302, 303):
                self.page(response.headers["Location"].replace("http://localhost", ""))
        else:
            assert response.status_code < 500, (path, response.status_code)

    def chat(self, who: str, room_id: int, body: str) -> None:
        self.n += 1
        # Not asserted: a refusal (a shared rate limit, say) must show as a difference in
        # what Xena sees, which is what this test compares.
        before = self.steps.n
        self.socks[who].ack(
            "send", {"room_id": room_id, "client_id": f"client-{self.n:04d}", "body": body}
        )
        self.cost(f"{who} send", before)
        self.listen()

    def typing(self, who: str, room_id: int) -> None:
        # The typing limit runs on the wall clock: wait out this name's own window, so
        # whether a round's typing passes does not depend on how fast the machine is. A
        # limit shared by two names would still refuse the second (they type back to back).
        wait = self.typed.get(who, 0.0) + TYPING_WINDOW - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.typed[who] = time.monotonic()
        before = self.steps.n
        self.socks[who].ack("typing", {"room_id": room_id})
        self.cost(f"{who} typing", before)
        self.listen()

    # --- observing ----------------------------------------------------------------

    def page(self, path: str) -> None:
        before = self.steps.n
        response = self.clients["Xena"].get(path)
        self.cost(f"GET {path}", before)
        self._record(f"GET {path}", response)

    def xena_ack(self, event: str, data: object) -> None:
        before = self.steps.n
        ack = self.socks["Xena"].ack(event, data)
        self.cost(f"ack {event}", before)
        self.seen.append((f"ack {event}", ack))
        self.listen()

    def listen(self) -> None:
        self.seen.append(("socket", self.socks["Xena"].received()))

    def _record(self, label: str, response: Any) -> None:
        body = scrub(response.get_data(as_text=True))
        self.seen.append((label, (response.status_code, response.headers.get("Location"), body)))


def build(tmp: Path, template_db: Path, one_person: bool) -> tuple[Flask, Any]:
    tmp.mkdir(parents=True)
    shutil.copy(template_db, tmp / "test.db")
    # Rate limits count in wall-clock time, which differs between the two runs: here the
    # chat rates are per hour (a world runs for a few minutes), so whether a message
    # passes depends only on how many came before it under the same name and the rate
    # of that name's trust level, never on the machine's speed.
    app = create_app(
        base_config(
            tmp,
            RB_LIMIT_CHAT_NEW=f"{CHAT_NEW} per hour",
            RB_LIMIT_CHAT=f"{CHAT_NEW + 1} per hour",
            RB_LIMIT_CHAT_TRUSTED="10000 per hour",
        )
    )
    app.test_client_class = IsolatedClient
    ctx = app.app_context()
    ctx.push()
    return app, ctx


def sign_up(alias: str) -> Account:
    account = accounts.sign_up(alias, PASSPHRASE, PASSPHRASE).account
    account.codes_confirmed = True  # past the codes step (tests/test_recovery_codes.py)
    return account


def run_script(app: Flask, one_person: bool) -> list[tuple[str, Any]]:
    """The script: identical in both worlds except who stands behind "Rosa"."""
    olu = sign_up("Olu")
    xena = sign_up("Xena")
    mona = sign_up("Mona")
    plaza = make_space("open", owner=olu, name="Plaza")
    circle = make_space("closed", owner=olu, name="Circle")
    for space in (plaza, circle):
        space.typing_indicator = True
        space.show_online_list = True
        add_member(space, xena)
    db.session.commit()
    add_member(plaza, mona)
    # The same number of accounts, sessions and sockets in both worlds (so the database
    # work can be compared exactly): in world 1 Zed, who takes no part, stands where Nell
    # stands in world 2.
    other = sign_up("Zed" if one_person else "Nell")
    rosa = mona if one_person else other
    add_member(circle, rosa, space_alias="Rosa")
    clients = {alias: app.test_client() for alias in ("Olu", "Xena", "Mona")}
    other_client = app.test_client()
    clients["Rosa"] = clients["Mona"] if one_person else other_client
    for alias, account in (("Olu", olu), ("Xena", xena), ("Mona", mona)):
        login(clients[alias], account.alias)
    login(other_client, other.alias)
    w = World(app, clients, Steps(db.engine))
    w.socks["Xena"] = Sock(app, clients["Xena"])
    w.socks["Mona"] = Sock(app, clients["Mona"])
    other_sock = Sock(app, other_client)
    w.socks["Rosa"] = w.socks["Mona"] if one_person else other_sock
    w.listen()
    plaza_room = db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == plaza.id))
    circle_room = db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == circle.id))
    rooms = {"Mona": plaza_room, "Rosa": circle_room}
    slugs = {"Mona": plaza.slug, "Rosa": circle.slug}

    # Threads from everyone; Xena's socket watches them and both rooms.
    for who, title in (("Xena", "Xena asks the plaza"), ("Mona", "Mona in the plaza")):
        w.form(who, f"/s/{plaza.slug}/t/new", {"title": title, "body": f"{title}: hello everyone"})
    for who, title in (("Xena", "Xena asks the circle"), ("Rosa", "Rosa in the circle")):
        w.form(who, f"/s/{circle.slug}/t/new", {"title": title, "body": f"{title}: hello everyone"})
    thread_ids = list(db.session.scalars(sa.select(Thread.id).order_by(Thread.id)))
    xena_plaza, mona_thread, xena_circle, rosa_thread = thread_ids
    for thread_id in thread_ids:
        w.xena_ack("watch_thread", {"thread_id": thread_id})
    for room_id in (plaza_room, circle_room):
        w.xena_ack("join", {"room_id": room_id, "after_seq": 0})
    for who in ("Mona", "Rosa"):
        assert w.socks[who].ack("join", {"room_id": rooms[who], "after_seq": 0})["ok"]
        w.listen()
    w.form("Xena", f"/t/{xena_plaza}/follow", {"on": "1"})
    w.form("Xena", f"/t/{xena_circle}/follow", {"on": "1"})

    def activity(round_: int) -> None:
        """Both names post, reply, chat and type; Xena reads everything."""
        w.form("Mona", f"/t/{xena_plaza}/reply", {"body": f"Mona replies hello, round {round_}"})
        w.listen()
        w.form("Rosa", f"/t/{xena_circle}/reply", {"body": f"Rosa replies hello, round {round_}"})
        w.listen()
        for who in ("Mona", "Rosa"):
            w.chat(who, rooms[who], f"{who} says hello in chat, round {round_}")
            w.typing(who, rooms[who])
        look()

    def look() -> None:
        for path in (
            "/",
            "/spaces",
            f"/s/{plaza.slug}",
            f"/s/{circle.slug}",
            "/updates",
            "/search?q=hello",
            "/search?q=Rosa",
            "/search?q=Mona",
            f"/s/{plaza.slug}/members",
            f"/s/{circle.slug}/members",
            f"/s/{plaza.slug}/chat",
            f"/s/{circle.slug}/chat",
            f"/s/{plaza.slug}/mod/log",
            f"/s/{circle.slug}/mod/log",
            "/account/blocks",
            "/notices",
        ):
            w.page(path)
        for thread_id in thread_ids:
            w.page(f"/t/{thread_id}")
        w.listen()

    activity(1)

    def last_post(who_thread: int, name: str) -> int:
        return db.session.scalar(
            sa.select(sa.func.max(Post.id)).where(
                Post.thread_id == who_thread, Post.author_name == name
            )
        )

    # Xena blocks Rosa, then the everyday alias Mona (never "already blocked").
    w.form("Xena", f"/block/post/{last_post(xena_circle, 'Rosa')}")
    activity(2)
    w.form("Xena", f"/block/post/{last_post(xena_plaza, 'Mona')}")
    activity(3)
    # Undo both; flag each name's post, twice (the second answer is "already flagged").
    for block_id in sorted(db.session.scalars(sa.text("SELECT id FROM mod_blocks")), reverse=True):
        w.form("Xena", f"/account/blocks/{block_id}/undo")
    for thread_id, name in ((xena_plaza, "Mona"), (xena_circle, "Rosa")):
        target = last_post(thread_id, name)
        w.form("Xena", f"/flag/post/{target}", {"reason": "spam"})
        w.form("Xena", f"/flag/post/{target}", {"reason": "spam"})
    # Each name flags Xena's thread post in its own space.
    for who, thread_id in (("Mona", xena_plaza), ("Rosa", xena_circle)):
        first = db.session.scalar(
            sa.select(Post.id).where(Post.thread_id == thread_id, Post.is_first)
        )
        w.form(who, f"/flag/post/{first}", {"reason": "offtopic"})
        w.listen()
    # The owner hides one post of each name; Xena reads the logs and pages.
    for slug, thread_id, name in (
        (plaza.slug, mona_thread, "Mona"),
        (circle.slug, rosa_thread, "Rosa"),
    ):
        target = db.session.scalar(
            sa.select(Post.id).where(Post.thread_id == thread_id, Post.is_first)
        )
        w.form(
            "Olu",
            f"/s/{slug}/mod/act",
            {"kind": "post", "id": target, "action": "hide", "reason": "Testing the log"},
        )
        w.listen()
    activity(4)
    standing_phase(w, plaza, circle, thread_ids, rooms, mona, look)
    activity(5)
    for slug in slugs.values():
        for path in (f"/s/{slug}/reports", f"/s/{slug}/alerts", f"/s/{slug}/chat"):
            w.page(path)
    return w.seen


def standing_phase(w, plaza, circle, thread_ids, rooms, mona, look) -> None:
    """Mona's everyday alias crosses every trust threshold; Rosa, a new space name, does
    not. Under trust per account, Rosa would then be Mona's level in world 1 only: her
    flags would weigh more and hide at once, her links pass, her chat run at the trusted
    rate, her alert go out and her bad-date report publish (and approve Xena's)."""
    xena_plaza, _mona_thread, xena_circle, _rosa_thread = thread_ids
    xena_id = db.session.scalar(sa.select(Account.id).where(Account.alias == "Xena"))
    # A long history under the alias: an account 40 days old, 55 posts, accurate flags.
    mona.created_at = START - timedelta(days=40)
    db.session.commit()
    diary = threads.create_thread(mona, plaza.slug, title="Mona's diary", body="Day one")
    for n in range(54):
        threads.reply(mona, diary.id, body=f"Diary entry {n}")
    w.listen()
    for n in range(3):
        w.form("Xena", f"/t/{xena_plaza}/reply", {"body": f"Buy cheap things, number {n}"})
        spam = db.session.scalar(sa.select(sa.func.max(Post.id)).where(Post.author_name == "Xena"))
        w.form("Mona", f"/flag/post/{spam}", {"reason": "spam"})
        w.form("Olu", f"/s/{plaza.slug}/mod/act", {"kind": "post", "id": spam, "action": "hide"})
        w.listen()
    # One open flag's weight now decides; bad-date reports by trusted names publish at once.
    for space in (plaza, circle):
        space.flag_threshold = 1
        db.session.add(
            SafetySettings(
                space_id=space.id,
                region="GB",
                trusted_publish=True,
                report_days=180,
                alert_hours=12,
            )
        )
    db.session.commit()
    for who, thread_id, slug in (
        ("Mona", xena_plaza, plaza.slug),
        ("Rosa", xena_circle, circle.slug),
    ):
        # Flags: weight (spam) and an "outing" flag from a trusted name (hides alone).
        for reason in ("spam", "outing"):
            w.form("Xena", f"/t/{thread_id}/reply", {"body": f"Xena, {reason} bait for {who}"})
            target = db.session.scalar(
                sa.select(sa.func.max(Post.id)).where(Post.author_name == "Xena")
            )
            w.form(who, f"/flag/post/{target}", {"reason": reason})
            w.listen()
        # Links, in a reply and in chat.
        w.form(who, f"/t/{thread_id}/reply", {"body": f"{who}: see https://example.org/help"})
        w.listen()
        w.chat(who, rooms[who], f"{who}: see https://example.org/help")
        # Chat rate: a burst past the new-name rate (the trusted rate is far wider).
        for n in range(CHAT_BURST):
            w.chat(who, rooms[who], f"{who} bursts, message {n}")
        # An urgent alert, a bad-date report, and an approval of Xena's pending one.
        w.form(who, f"/s/{slug}/alerts", {"body": f"{who} warns: a raid nearby"})
        w.listen()
        w.form("Xena", f"/s/{slug}/reports/new", report_form("Xena", "+44 7700 900111"))
        w.form(who, f"/s/{slug}/reports/new", report_form(who, "+44 7700 900222"))
        w.listen()
        pending = db.session.scalar(
            sa.select(sa.func.max(BadDateReport.id)).where(
                BadDateReport.status == "pending", BadDateReport.author_id == xena_id
            )
        )
        if pending is not None:
            w.form(who, f"/reports/{pending}/approve")
        w.listen()
    look()


def report_form(who: str, phone: str) -> dict[str, Any]:
    return {
        "happened_on": "2026-03-01",
        "part_of_day": "night",
        "area": "Riverside",
        "what": ["violence"],
        "body": f"Reported by {who}: turned nasty when asked to pay first.",
        "phones": phone,
        "handles": "",
        "emails": "",
        "plates": "",
    }


def _world(tmp_path: Path, template_db: Path, clock, one_person: bool) -> list[tuple[str, Any]]:
    clock.set(START)
    app, ctx = build(tmp_path / ("one" if one_person else "two"), template_db, one_person)
    try:
        return run_script(app, one_person)
    finally:
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


def test_one_persons_names_never_share_a_budget(app, make_account, monkeypatch):
    """Chat, typing and urgent-alert limits count per name: one person typing, chatting
    and raising alerts under two names at once is refused exactly as two people would be
    (not at all, here)."""
    olu, mona = make_account("Olu"), make_account("Mona")
    plaza = make_space("open", owner=olu, name="Plaza", typing_indicator=True)
    circle = make_space("closed", owner=olu, name="Circle", typing_indicator=True)
    add_member(plaza, mona)
    add_member(circle, mona, space_alias="Rosa")
    rooms = [
        db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == s.id))
        for s in (plaza, circle)
    ]
    for space in (plaza, circle):  # both names at trust level 1, to raise alerts
        season(mona, db.session.get(ChatRoom, rooms[0 if space is plaza else 1]))
    for _ in range(3):  # alerts.RAISE_RATE: 3 per hour, all spent as Mona
        alerts.raise_alert(mona, plaza.slug, "Mona warns")
    with pytest.raises(RateLimited):
        alerts.raise_alert(mona, plaza.slug, "Mona warns again")
    alerts.raise_alert(mona, circle.slug, "Rosa warns")  # Rosa's budget is her own
    app.config["RB_LIMIT_CHAT_NEW"] = app.config["RB_LIMIT_CHAT"] = "1 per hour"
    for n, room_id in enumerate(rooms):
        chat.post_message(mona, room_id, f"budget-{n:04d}", "one message under each name")
        chat.typing(mona, f"sid-{n}", room_id)  # "1 per 3 seconds", per name
    with pytest.raises(RateLimited):  # the limit itself still holds, per name
        chat.post_message(mona, rooms[1], "budget-9999", "a second one as Rosa")


def test_one_person_with_two_names_looks_like_two_people(tmp_path, template_db, clock):
    one = _world(tmp_path, template_db, clock, one_person=True)
    two = _world(tmp_path, template_db, clock, one_person=False)
    costs = []
    for (label_one, seen_one), (label_two, seen_two) in zip(
        one, two
    ):  # the first difference, named
        assert label_one == label_two
        if label_one.startswith("cost "):
            costs.append((label_one, seen_one, seen_two))
            assert abs(seen_one - seen_two) <= COST_NOISE, (
                f"{label_one} costs the database {seen_one} instructions with one person, "
                f"{seen_two} with two"
            )
        else:
            assert seen_one == seen_two, f"{label_one} differs between one person and two"
    assert len(one) == len(two)
    assert len(costs) > 150 and all(a > 0 for _l, a, _b in costs)  # the counter counted
    # The script reached what it meant to: pages with both names, blocks, flags, the log.
    text = repr(one)
    for needle in (
        "Rosa replies hello, round 4",
        "Mona replies hello, round 4",
        "Rosa in the circle",
        "already flagged",
        "Testing the log",
        "'message'",
        "'typing'",
        "'presence'",
        "'new_reply'",
    ):
        assert needle in text or re.search(needle, text, re.I), needle
    assert "already blocked" not in text  # blocking the everyday alias after the space name works
    # The standing phase crossed the thresholds: what the trusted alias did went through,
    # what the new space name did was refused (under trust per account, world 1's Rosa
    # would have been let through, and the worlds would differ).
    for done, refused in (
        ("Mona: see https://example.org/help", "Rosa: see https://example.org/help"),
        (f"Mona bursts, message {CHAT_BURST - 1}", f"Rosa bursts, message {CHAT_BURST - 1}"),
        ("Mona warns: a raid nearby", "Rosa warns: a raid nearby"),
        ("Reported by Mona", "Reported by Rosa"),
    ):
        assert done in text and refused not in text, (done, refused)
    assert "Reported by Xena" in text  # Mona (trusted) approved Xena's report; Rosa could not
    # Mona's spam flag alone hid Xena's bait (a trusted, accurate name's weight passes the
    # threshold of one flag), and her "outing" flag hid at once; Rosa's did neither.
    notices = [seen for label, seen in one if label == "GET /notices"][-1][2]
    assert notices.count("was hidden after members") == 2, notices
