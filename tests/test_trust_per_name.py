"""Trust belongs to the name that is shown, and is kept as counters on that name's row.

The two-worlds test (tests/test_names_unlinkable.py) proves a third member cannot tell
one person's names apart through trust; these tests pin the rule itself, the counters,
the migration that backfilled them, and that sending a chat message counts nothing.
"""

from __future__ import annotations

from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from forum import clock as clock_module
from forum import spaces
from forum import standing
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from moderation import actions
from moderation import flags
from moderation import trust
from realtime import chat
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread

COUNTERS = ("trust_posts", "trust_flags_upheld", "trust_flags_dismissed", "trust_upheld_on")


def _here(account: Account, space) -> Membership:
    return standing.membership_in(account.id, space.id)


def test_a_new_space_name_starts_with_no_standing(app, clock):
    """A person trusted under their everyday alias starts from nothing under a space name,
    and an admin's powers of trust stay with the alias they act under."""
    olu = make_account("Olu")
    plaza = make_space("open", owner=olu, name="Plaza")
    circle = make_space("closed", owner=olu, name="Circle")
    corner = make_space("open", owner=olu, name="Corner")
    mona = make_account("Mona", age=timedelta(days=40))
    add_member(plaza, mona)
    thread = make_thread(plaza, mona)
    for n in range(60):
        make_post(thread, mona, f"entry {n}")
    add_member(circle, mona, space_alias="Rosa")
    add_member(corner, mona)
    now = clock.now()
    assert mona.trust_posts == standing.POSTS_KEPT  # the counter stops where rules stop
    assert trust.level(mona, _here(mona, plaza), now) == trust.TRUSTED
    assert trust.level(mona, _here(mona, corner), now) == trust.TRUSTED  # one alias everywhere
    assert trust.level(mona, _here(mona, circle), now) == trust.NEW  # Rosa is new
    # Rosa earns her own standing, in her space, from the day she joined.
    room = make_room(circle)
    for n in range(5):
        make_message(room, mona, f"Rosa speaks {n}")
    assert _here(mona, circle).trust_posts == 5
    assert mona.trust_posts == standing.POSTS_KEPT
    assert trust.level(mona, _here(mona, circle), now) == trust.NEW  # too young
    clock.advance(days=3)
    assert trust.level(mona, _here(mona, circle), clock.now()) == trust.MEMBER
    # Leaving gives the name up: joining again, even under the same space name, starts anew.
    spaces.leave(mona, circle.slug)
    add_member(circle, mona, space_alias="Rosa")
    assert trust.level(mona, _here(mona, circle), clock.now()) == trust.NEW
    # An instance admin's alias is trusted; a space name of theirs earns its own.
    mona.is_admin = True
    db.session.commit()
    assert trust.level(mona, _here(mona, circle), clock.now()) == trust.NEW
    fresh = make_account("Fresh", admin=True)
    add_member(plaza, fresh)
    assert trust.level(fresh, _here(fresh, plaza), clock.now()) == trust.TRUSTED


def test_flag_decisions_count_for_the_flagging_name_and_the_written_name(app, clock):
    olu, mona, pat = make_account("Olu"), make_account("Mona"), make_account("Pat")
    plaza = make_space("open", owner=olu, name="Plaza")
    circle = make_space("closed", owner=olu, name="Circle")
    add_member(plaza, mona)
    add_member(circle, mona, space_alias="Rosa")
    for space in (plaza, circle):
        add_member(space, pat)
    pat_plaza = make_post(make_thread(plaza, olu), pat, "buy now")
    circle_thread = make_thread(circle, olu)
    pat_circle = make_post(circle_thread, pat, "buy here")
    rosa_post = make_post(circle_thread, mona, "Rosa's words")
    flags.flag(mona, "post", pat_plaza.id, "spam")
    flags.flag(mona, "post", pat_circle.id, "spam")
    flags.flag(pat, "post", rosa_post.id, "harassment")
    actions.hide(olu, plaza.slug, "post", pat_plaza.id)
    actions.keep(olu, circle.slug, "post", pat_circle.id)
    actions.hide(olu, circle.slug, "post", rosa_post.id)
    db.session.expire_all()
    rosa = _here(mona, circle)
    assert (mona.trust_flags_upheld, mona.trust_flags_dismissed) == (1, 0)
    assert (rosa.trust_flags_upheld, rosa.trust_flags_dismissed) == (0, 1)
    assert (pat.trust_flags_upheld, pat.trust_flags_dismissed) == (1, 0)
    assert rosa.trust_upheld_on == clock_module.today()  # the clean-record rule, for Rosa
    assert mona.trust_upheld_on is None  # and not for Mona
    assert trust.recently_upheld(trust.stats_for(mona, rosa), clock.now())
    assert not trust.recently_upheld(trust.stats_for(mona, _here(mona, plaza)), clock.now())


def test_sending_a_chat_message_counts_nothing(app, clock):
    """Issue #13: the trust level on the send path is read from the name's row, never a
    COUNT over the author's history; the message is counted in its own transaction."""
    olu = make_account("Olu")
    circle = make_space("closed", owner=olu, name="Circle")
    mona = make_account("Mona")
    add_member(circle, mona, space_alias="Rosa")
    room = make_room(circle)
    make_message(room, mona, "warm the caches")
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        message, new = chat.post_message(mona, room.id, "client-count-0001", "hello there")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert new and message.id
    assert statements  # the listener saw the send
    assert not [s for s in statements if "count(" in s.lower()], statements
    db.session.expire_all()
    assert _here(mona, circle).trust_posts == 2
    assert mona.trust_posts == 0  # Rosa's messages are not the alias's


def _counters() -> dict[str, tuple]:
    rows = {}
    for model, key in ((Account, "alias"), (Membership, "space_alias")):
        for row in db.session.scalars(sa.select(model).order_by(model.id)):
            rows[f"{model.__tablename__}:{getattr(row, key)}:{row.id}"] = tuple(
                getattr(row, column) for column in COUNTERS
            )
    return rows


def _backfill_reproduces_the_live_counters() -> None:
    olu, mona, pat = make_account("Olu"), make_account("Mona"), make_account("Pat")
    plaza = make_space("open", owner=olu, name="Plaza")
    circle = make_space("closed", owner=olu, name="Circle")
    add_member(plaza, mona)
    add_member(circle, mona, space_alias="Rosa")
    for space in (plaza, circle):
        add_member(space, pat)
    plaza_thread = make_thread(plaza, mona, "Mona's thread")
    make_post(plaza_thread, mona, "Mona again")
    make_message(make_room(plaza), mona, "Mona chats")
    circle_thread = make_thread(circle, mona, "Rosa's thread")
    room = make_room(circle)
    for n in range(3):
        make_message(room, mona, f"Rosa chats {n}")
    rosa_post = make_post(circle_thread, mona, "Rosa's words")
    pat_plaza = make_post(plaza_thread, pat, "buy now")
    pat_circle = make_post(circle_thread, pat, "buy here")
    flags.flag(mona, "post", pat_plaza.id, "spam")
    flags.flag(mona, "post", pat_circle.id, "spam")
    flags.flag(pat, "post", rosa_post.id, "harassment")
    actions.hide(olu, plaza.slug, "post", pat_plaza.id)
    actions.keep(olu, circle.slug, "post", pat_circle.id)
    actions.hide(olu, circle.slug, "post", rosa_post.id)
    db.session.expire_all()
    live = _counters()
    assert live[f"memberships:Rosa:{_here(mona, circle).id}"] == (5, 0, 1, clock_module.today())
    assert live[f"accounts:Mona:{mona.id}"] == (3, 1, 0, None)
    db.session.commit()
    db.session.close()
    flask_migrate.downgrade(revision="0015")
    flask_migrate.upgrade()
    db.session.expire_all()
    assert _counters() == live


def test_migration_backfills_the_counters_per_name(app, clock):
    _backfill_reproduces_the_live_counters()


@pytest.mark.postgres
def test_migration_backfills_the_counters_per_name_on_postgres(pg_app, clock):
    _backfill_reproduces_the_live_counters()
