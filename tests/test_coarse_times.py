"""Coarse times: every time column, with how finely it is stored and why it exists.

A seized database should not hold times a court could match to an internet
provider's records. ``TIME_COLUMNS`` lists every date-time column of every model
(read from the metadata, so a new column fails here until it is listed) with its
granularity; "day" columns are checked to hold midnight UTC after a run through the
features that write them.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from forum import accounts
from forum import clock as clock_module
from forum import sessions
from forum import spaces
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import AuthSession
from moderation import actions
from moderation import blocks
from moderation import flags
from realtime.models import ChatSocket
from tests.factories import add_member
from tests.factories import make_post
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import PASSPHRASE
from tests.support import login

DAY = "day"  # midnight UTC of the day: checked below
SECOND = "second"  # as the clock gives it (seconds or finer)

# table.column -> (granularity, why the column exists and why that granularity)
TIME_COLUMNS: dict[str, tuple[str, str]] = {
    # People
    "accounts.created_at": (DAY, "trust levels count the everyday alias's age in days"),
    "accounts.trust_upheld_on": (
        DAY,
        "the clean-record rule of trust levels (30 days since a flag on the alias's content "
        "was upheld), counted from the end of that day",
    ),
    "accounts.suspended_until": (SECOND, "end of an admin's suspension; a deadline, not activity"),
    "auth_sessions.created_at": (DAY, "'started' on the sessions list, to the day"),
    "auth_sessions.last_seen_at": (
        DAY,
        "the idle limit (RB_SESSION_IDLE_DAYS), counted from the day of last use",
    ),
    "auth_sessions.expires_at": (
        DAY,
        "absolute limit: RB_SESSION_MAX_DAYS from the day of sign-in",
    ),
    "memberships.joined_at": (
        DAY,
        "orders the member list; a space name's age for trust levels; to the day",
    ),
    "memberships.trust_upheld_on": (
        DAY,
        "the clean-record rule for a space name, as accounts.trust_upheld_on",
    ),
    "memberships.muted_until": (SECOND, "end of a moderator's mute; a deadline, not activity"),
    "join_requests.created_at": (DAY, "orders the moderators' request list, shown as a date"),
    "mod_blocks.created_at": (DAY, "'since' on the blocker's own list, shown as a date"),
    # Live sockets: no connect time; rows go at disconnect and at server start.
    "chat_sockets.seen_at": (
        SECOND,
        "tells a live socket from one whose process died (STALE, 90 s); "
        "the row lives only as long as the connection",
    ),
    # Structure
    "organisations.created_at": (DAY, "record of when an organisation was set up"),
    "spaces.created_at": (DAY, "record of when a space was set up"),
    "chat_rooms.created_at": (SECOND, "record of when a room was made (an owner's action)"),
    "chat_rooms.archived_at": (SECOND, "a room is read-only once set"),
    "invites.created_at": (SECOND, "owners' invite list; an invite can live for hours only"),
    "invites.expires_at": (SECOND, "an invite's end, hours after it was made"),
    "invites.revoked_at": (SECOND, "a revoked invite answers 410"),
    # Content: times shown beside it, and its expiry.
    "threads.created_at": (SECOND, "shown on the thread; start of its retention"),
    "threads.last_post_at": (SECOND, "orders the thread list"),
    "threads.expires_at": (SECOND, "when the thread disappears (retention)"),
    "threads.hidden_at": (SECOND, "hidden by moderation (a flag, not shown)"),
    "posts.created_at": (SECOND, "shown on the post; start of its retention"),
    "posts.edited_at": (SECOND, "'edited' label"),
    "posts.expires_at": (SECOND, "when the post disappears (retention)"),
    "posts.hidden_at": (SECOND, "hidden by moderation (a flag, not shown)"),
    "chat_messages.created_at": (SECOND, "shown on the message; start of its retention"),
    "chat_messages.expires_at": (SECOND, "when the message disappears (chat retention, hours)"),
    "chat_messages.hidden_at": (SECOND, "hidden by moderation (a flag, not shown)"),
    # Moderation
    "mod_flags.created_at": (SECOND, "the queue's order; flags expire with their content"),
    "mod_flags.resolved_at": (SECOND, "trust's clean-record window (30 days)"),
    "mod_actions.created_at": (SECOND, "the public moderation log's date and time"),
    "mod_actions.excerpt_expires_at": (SECOND, "the excerpt goes when the content would have"),
    "mod_appeals.created_at": (SECOND, "orders the appeal queue"),
    "mod_appeals.decided_at": (SECOND, "when an appeal was decided"),
    # Safety: bad-date reports (forum/safety)
    "bad_date_reports.created_at": (
        SECOND,
        "orders the moderators' queue; start of the report's life",
    ),
    "bad_date_reports.published_at": (SECOND, "shown on the published warning"),
    "bad_date_reports.expires_at": (SECOND, "when the warning disappears"),
    "bad_date_reports.hidden_at": (SECOND, "hidden by moderation (a flag, not shown)"),
    # Safety: buddies, check-ins, direct messages, urgent alerts, guides (forum/safety)
    "safety_buddies.created_at": (SECOND, "orders a member's pending buddy requests"),
    "safety_buddies.accepted_at": (SECOND, "a pairing is live once set"),
    "safety_checkins.created_at": (SECOND, "start of a check-in; the note's life counts from it"),
    "safety_checkins.deadline": (SECOND, "the time the member chose: the alert fires then"),
    "safety_checkins.expires_at": (SECOND, "the row and its note go 24 h after the deadline"),
    "safety_checkins.fired_at": (SECOND, "fires exactly once: set by the one process that fires"),
    "safety_checkins.help_at": (SECOND, "'I need help now' was pressed: shown to the contacts"),
    "safety_checkin_contacts.opened_at": (SECOND, "the banner stays until the contact opens it"),
    "safety_direct_messages.created_at": (SECOND, "shown on the message; start of its life"),
    "safety_direct_messages.expires_at": (SECOND, "when the message disappears (7 days or less)"),
    "safety_direct_messages.hidden_at": (SECOND, "hidden by moderation (a flag, not shown)"),
    "safety_alerts.created_at": (SECOND, "shown on the alert: how fresh the warning is"),
    "safety_alerts.expires_at": (SECOND, "when the alert disappears (12 h by default)"),
    "safety_alerts.hidden_at": (SECOND, "removed by a moderator (a flag, not shown)"),
    "safety_pages.updated_at": (SECOND, "'last changed' on a rights or services page"),
    "notices.created_at": (SECOND, "shown on the member's own notice"),
    "notices.expires_at": (SECOND, "notices go after 30 days"),
    "mod_watch_words.created_at": (SECOND, "record of when a moderator added a word"),
}


def time_columns() -> set[str]:
    return {
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, (UTCDateTime, sa.DateTime))
    }


def test_every_time_column_is_listed_with_its_granularity(app):
    found = time_columns()
    assert found - TIME_COLUMNS.keys() == set(), (
        "list the new column in TIME_COLUMNS: granularity and why"
    )
    assert TIME_COLUMNS.keys() - found == set(), "drop columns that no longer exist"
    assert all(grain in (DAY, SECOND) and why for grain, why in TIME_COLUMNS.values())


def test_no_connect_time_is_kept_for_sockets(app):
    assert "chat_sockets.connected_at" not in time_columns()
    assert set(ChatSocket.__table__.columns.keys()) == {
        "sid",
        "account_id",
        "auth_session_id",
        "seen_at",
    }


def _day_values() -> list[tuple[str, object]]:
    values = []
    for name, (grain, _why) in TIME_COLUMNS.items():
        if grain != DAY:
            continue
        table, column = name.split(".")
        model_table = db.metadata.tables[table]
        for value in db.session.scalars(
            sa.select(model_table.c[column]).where(model_table.c[column].is_not(None))
        ):
            values.append((name, value))
    return values


def test_day_columns_hold_midnight_utc(app, client, make_account, clock):
    clock.set(clock.now().replace(hour=15, minute=47, second=13))
    olu = make_account("Olu")
    clock.advance(hours=3, minutes=11)
    mona = make_account("Mona")
    login(client, "Mona")
    plaza = make_space("open", owner=olu, name="Plaza")
    circle = make_space("closed", owner=olu, name="Circle")
    add_member(plaza, mona)
    clock.advance(minutes=7, seconds=5)
    spaces.request_join(mona, circle.slug, "please", space_alias="Rosa")
    xena = make_account("Xena")
    add_member(plaza, xena)
    topic = make_thread(plaza, mona)
    clock.advance(days=2, hours=5, seconds=41)
    assert client.get("/account").status_code == 200  # touches the session
    blocks.block(xena, "thread", topic.id)
    reply = make_post(topic, mona, "a reply to flag")
    flags.flag(xena, "post", reply.id, "spam")
    actions.hide(olu, plaza.slug, "post", reply.id)  # upheld: the day goes on Mona's alias
    found = _day_values()
    names = {name for name, _value in found}
    assert {
        "accounts.created_at",
        "accounts.trust_upheld_on",
        "auth_sessions.created_at",
        "auth_sessions.last_seen_at",
        "auth_sessions.expires_at",
        "memberships.joined_at",
        "join_requests.created_at",
        "mod_blocks.created_at",
        "spaces.created_at",
        "organisations.created_at",
    } <= names
    for name, value in found:
        assert (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0), (
            name,
            value,
        )
    assert _session_page_shows_dates_only(client)


def _session_page_shows_dates_only(client) -> bool:
    page = client.get("/account").get_data(as_text=True)
    return "UTC" not in page.split("Started", 1)[-1].split("</li>", 1)[0]


def test_idle_limit_counts_whole_days(app, client, make_account, clock):
    """Used at 23:59 on day D: the session still works on D+6 at 23:59, and ends at D+7 00:00."""
    clock.set(clock.now().replace(hour=23, minute=59, second=0))
    make_account("Nadia")
    login(client, "Nadia")
    idle = app.config["RB_SESSION_IDLE_DAYS"]
    row = db.session.scalar(sa.select(AuthSession))
    assert row.last_seen_at == clock_module.today()
    assert sessions.is_live(row, clock.now() + timedelta(days=idle - 1))
    assert not sessions.is_live(row, clock_module.today() + timedelta(days=idle))


def test_socket_rows_go_at_disconnect_and_at_start(app, client, make_account, start_as_server):
    from forum.extensions import socketio

    make_account("Nadia")
    login(client, "Nadia")
    sock = socketio.test_client(
        app, namespace="/chat", flask_test_client=client, headers={"Origin": "http://localhost"}
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatSocket)) == 1
    sock.disconnect(namespace="/chat")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatSocket)) == 0
    session_id = db.session.scalar(sa.select(AuthSession.id))
    account_id = db.session.scalar(sa.select(AuthSession.account_id))
    db.session.add(
        ChatSocket(
            sid="left-by-a-crash",
            account_id=account_id,
            auth_session_id=session_id,
            seen_at=clock_module.now(),
        )
    )
    db.session.commit()
    start_as_server()  # a single process: every row is from before the start
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatSocket)) == 0
    accounts.log_out(db.session.get(AuthSession, session_id))
    assert PASSPHRASE
