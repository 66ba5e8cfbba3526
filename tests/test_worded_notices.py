"""Notices and moderation-log lines read in the reader's language (issue #15 item 1).

They are stored as a code and its values and worded when shown. Attacked from outside:
each kind is made through the real service (a flag, a hide, an appeal decided...),
then the page is fetched by a Spanish and a Russian member, and what it must say is
built from the compiled catalogue itself (``gettext.GNUTranslations`` on the ``.mo``),
not from the code that words it. No English sentence may be left on the page.

Every kind the code knows (``wording.NOTICES``, ``modlog.ACTION_LABELS``,
``wording.REASONS``) must have a scenario here: a new kind without one fails
``test_every_kind_has_a_scenario``.
"""

from __future__ import annotations

import gettext
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from forum import access
from forum import clock as clock_module
from forum import sealed
from forum import threads
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import Account
from moderation import actions
from moderation import appeals
from moderation import flags
from moderation import modlog
from moderation import notices
from moderation import watchwords
from moderation import wording
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import Notice
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.factories import season
from tests.support import signed_in
from tests.test_no_english_left import leaks
from tests.test_no_english_left import translated_msgids

CATALOGUES = Path(__file__).resolve().parent.parent / "forum" / "translations"
LANGUAGES = ["es", "ru"]
SPACE_NAME = "Den of Peers"

# What a member reads, in English: the msgids (the plain-words sentences of 661c611).
NOTICE_MSGIDS: dict[str, str | tuple[str, str]] = {
    "flag_hidden": 'Your %(item)s in "%(space)s" was hidden after members flagged it '
    "(%(reasons)s). A moderator will review it. You can edit it (if it can be edited) "
    "or appeal.",
    "hidden": 'A moderator hid your %(item)s in "%(space)s". Reason: %(reason)s. '
    "You can edit it or appeal.",
    "deleted": 'A moderator deleted your %(item)s in "%(space)s". Reason: %(reason)s. '
    "You can appeal.",
    "redacted": 'A moderator took personal information out of your %(item)s in "%(space)s". '
    "The rest is kept.",
    "muted": (
        'A moderator muted you in "%(space)s" for %(num)s hour. Reason: %(reason)s. '
        "You can appeal.",
        'A moderator muted you in "%(space)s" for %(num)s hours. Reason: %(reason)s. '
        "You can appeal.",
    ),
    "removed": 'A moderator removed you from "%(space)s". Reason: %(reason)s.',
    "held": 'Your %(item)s in "%(space)s" is waiting for a moderator: it contains a word '
    "this space's moderators check first. Nobody else sees it until they approve it.",
    "appeal_refused": 'Your appeal in "%(space)s" was looked at again. The decision stays.',
    "appeal_undone": 'Your appeal in "%(space)s" succeeded: the decision is undone.',
    "appeal_shown": 'Your appeal in "%(space)s" succeeded: your post shows again.',
    "appeal_unmuted": 'Your appeal in "%(space)s" succeeded: you can write there again.',
    "appeal_not_back": 'Your appeal in "%(space)s" succeeded, but what was deleted cannot '
    "come back. You can post it again if you like.",
}
NOUNS = {"post": "post", "thread": "thread", "chat": "chat message"}
LABELS = {"harassment": "Harassment or threats", "spam": "Spam or scam", "hate": "Hate"}


def catalogue(lang: str) -> gettext.GNUTranslations:
    with (CATALOGUES / lang / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)


def say(t: gettext.NullTranslations, msgid: str | tuple[str, str], num: int = 1, **values):
    """The catalogue's sentence with its values (what the page must show)."""
    if isinstance(msgid, tuple):
        return t.ngettext(*msgid, num) % {"num": num, **values}
    return t.gettext(msgid) % values if values else t.gettext(msgid)


def listed(t: gettext.NullTranslations, keys: list[str]) -> str:
    return ", ".join(sorted(t.gettext(LABELS[key]).lower() for key in keys))


def page_text(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def english_pieces(msgid: str | tuple[str, str]) -> list[str]:
    """The English words between a msgid's placeholders (long enough to mean something)."""
    ids = msgid if isinstance(msgid, tuple) else (msgid,)
    return [p.strip() for m in ids for p in re.split(r"%\(\w+\)s", m) if len(p.strip()) > 12]


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    space: Any
    owner: Account
    mod1: Account
    mod2: Account
    author: Account
    admin: Account
    thread: Any
    flaggers: list[Account]
    room: Any
    clock: Any
    expect: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(app, clock):
    return build_world(clock)


def build_world(clock) -> World:
    owner, mod1, mod2, author = (make_account(a) for a in ("Olu", "Mina", "Rosa", "Fred"))
    admin = make_account("Ada", admin=True)
    space = make_space("closed", owner=owner, slug="den", name=SPACE_NAME)
    add_member(space, mod1, "moderator", space_alias="MinaMod")
    add_member(space, mod2, "moderator")
    add_member(space, author)
    thread = make_thread(space, owner)
    flaggers = []
    for alias in ("Ana", "Bea", "Cai"):
        account = make_account(alias)
        add_member(space, account)
        flaggers.append(season(account, thread))
    return World(space, owner, mod1, mod2, author, admin, thread, flaggers, make_room(space), clock)


def _post(w: World, body: str = "some words of mine") -> Any:
    return make_post(w.thread, w.author, body)


def _flag(w: World, kind: str, item_id: int, reasons: list[str]) -> None:
    for flagger, reason in zip(w.flaggers, reasons, strict=False):
        flags.flag(flagger, kind, item_id, reason)


def _appeal(w: World, action: str, outcome: str) -> None:
    line = db.session.scalar(
        sa.select(ModAction).where(ModAction.action == action).order_by(ModAction.id.desc())
    )
    row = appeals.appeal(w.author, line.id, "I was only warning people")
    appeals.decide(w.mod2, "den", row.id, outcome, "looked again")


# Each notice kind, made the way the site makes it; returns the values its sentence takes
# (item: an English noun, reasons: flag keys, reason: a callable of the catalogue, num).
def n_flag_hidden(w: World) -> dict:
    message = make_message(w.room, w.author, "chat words")
    _flag(w, "chat", message.id, ["harassment", "spam", "harassment"])
    return {"item": "chat", "reasons": ["harassment", "spam"]}


def n_hidden(w: World) -> dict:
    post = _post(w)
    _flag(w, "post", post.id, ["spam"])
    actions.hide(w.mod1, "den", "post", post.id, "")  # no reason typed: the flags' reasons
    return {
        "item": "post",
        "reason": lambda t: say(t, "Flagged: %(reasons)s", reasons=listed(t, ["spam"])),
    }


def n_deleted(w: World) -> dict:
    post = _post(w)
    actions.delete(w.mod1, "den", "post", post.id, "Regla 2: sé amable")  # typed: as typed
    return {"item": "post", "reason": lambda t: "Regla 2: sé amable"}


def n_redacted(w: World) -> dict:
    post = _post(w, "call me on 0161 496 0000")
    actions.redact(w.mod1, "den", "post", post.id, "call me on [removed]")
    return {"item": "post"}


def n_muted(w: World) -> dict:
    post = _post(w)
    actions.mute(w.mod1, "den", "post", post.id, 24)  # no reason, no flags: "not given"
    return {"num": 24, "reason": lambda t: t.gettext("not given")}


def n_removed(w: World) -> dict:
    post = _post(w)
    actions.remove_member(w.mod1, "den", "post", post.id, "spam links")
    return {"reason": lambda t: "spam links"}


def n_held(w: World) -> dict:
    watchwords.add_word(w.owner, "den", "holdme", "hold")
    threads.create_thread(w.author, "den", title="a question", body="please holdme")
    return {"item": "thread"}


def n_appeal_refused(w: World) -> dict:
    actions.hide(w.mod1, "den", "post", _post(w).id, "rule 1")
    _appeal(w, "hide", "uphold")
    return {}


def n_appeal_undone(w: World) -> dict:
    post = _post(w)
    _flag(w, "post", post.id, ["spam"])
    actions.hide(w.mod1, "den", "post", post.id, "rule 1")
    actions.keep(w.owner, "den", "post", post.id)  # shown again before the appeal is decided
    _appeal(w, "hide", "overturn")
    return {}


def n_appeal_shown(w: World) -> dict:
    actions.hide(w.mod1, "den", "post", _post(w).id, "rule 1")
    _appeal(w, "hide", "overturn")
    return {}


def n_appeal_unmuted(w: World) -> dict:
    actions.mute(w.mod1, "den", "post", _post(w).id, 24, "calm down")
    _appeal(w, "mute", "overturn")
    return {}


def n_appeal_not_back(w: World) -> dict:
    actions.delete(w.mod1, "den", "post", _post(w).id, "rule 3")
    _appeal(w, "delete", "overturn")
    return {}


NOTICE_SCENARIOS: dict[str, Callable[[World], dict]] = {
    "flag_hidden": n_flag_hidden,
    "hidden": n_hidden,
    "deleted": n_deleted,
    "redacted": n_redacted,
    "muted": n_muted,
    "removed": n_removed,
    "held": n_held,
    "appeal_refused": n_appeal_refused,
    "appeal_undone": n_appeal_undone,
    "appeal_shown": n_appeal_shown,
    "appeal_unmuted": n_appeal_unmuted,
    "appeal_not_back": n_appeal_not_back,
}


def expected_notice(t: gettext.NullTranslations, code: str, made: dict) -> str:
    values: dict[str, Any] = {"space": SPACE_NAME}
    if "item" in made:
        values["item"] = t.gettext(NOUNS[made["item"]])
    if "reasons" in made:
        values["reasons"] = listed(t, made["reasons"])
    if "reason" in made:
        values["reason"] = made["reason"](t)
    return say(t, NOTICE_MSGIDS[code], made.get("num", 1), **values)


def read_as(app, account: Account, lang: str, path: str) -> str:
    account = db.session.get(Account, account.id)
    account.locale = lang
    db.session.commit()
    response = signed_in(app, account.alias).get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_every_kind_has_a_scenario():
    assert set(NOTICE_SCENARIOS) == set(wording.NOTICES) == set(NOTICE_MSGIDS)
    assert set(FLAG_NOTE_MSGIDS) == set(wording.FLAG_NOTES)
    assert set(LOG_SCENARIOS) == set(modlog.ACTION_LABELS)
    generated = {code for made in LOG_REASON_CODES.values() for code in made}
    assert generated == set(wording.REASONS)


@pytest.mark.parametrize("code", sorted(NOTICE_SCENARIOS))
def test_each_notice_reads_in_the_members_language(app, world, code):
    made = NOTICE_SCENARIOS[code](world)
    stored = db.session.scalars(
        sa.select(Notice).where(Notice.account_id == world.author.id).order_by(Notice.id.desc())
    ).first()
    assert stored.code == code and stored.text == ""  # a code and values, not a sentence
    for lang in LANGUAGES:
        body = read_as(app, world.author, lang, "/notices")
        shown = page_text(body)
        t = catalogue(lang)
        expected = expected_notice(t, code, made)
        assert expected in shown, (lang, expected, shown[-1500:])
        english = expected_notice(gettext.NullTranslations(), code, made)
        assert english not in shown
        for piece in english_pieces(NOTICE_MSGIDS[code]):
            assert piece not in shown, (lang, piece)
        assert leaks(body, translated_msgids(lang)) == []


def test_english_readers_read_the_current_sentences(app, world):
    made = n_appeal_shown(world)
    body = page_text(read_as(app, world.author, "en", "/notices"))
    english = expected_notice(gettext.NullTranslations(), "appeal_shown", made)
    assert english == f'Your appeal in "{SPACE_NAME}" succeeded: your post shows again.'
    assert english in body


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_kind_of_content_is_named_in_the_members_language(app, world, lang):
    """The noun in a notice ("your chat message", "your thread") is translated too."""
    t = catalogue(lang)
    for kind, noun in NOUNS.items():
        notices.notify(world.author.id, "redacted", {"space": world.space.id, "kind": kind})
    db.session.commit()
    shown = page_text(read_as(app, world.author, lang, "/notices"))
    for noun in NOUNS.values():
        expected = say(t, NOTICE_MSGIDS["redacted"], item=t.gettext(noun), space=SPACE_NAME)
        assert expected in shown


# --- the moderation log ---------------------------------------------------------------------


def _log_reason(t, code: str, keys: list[str]) -> str:
    msgids = {
        "flagged_by_members": "Flagged by members: %(reasons)s",
        "flagged": "Flagged: %(reasons)s",
    }
    return say(t, msgids[code], reasons=listed(t, keys))


# Each log-line kind, made the way the site makes it; returns what the line's reason must
# read as (a callable of the catalogue), or None when it has none.
def l_auto_hide(w):
    n_flag_hidden(w)
    return lambda t: _log_reason(t, "flagged_by_members", ["harassment", "spam"])


def l_keep(w):
    post = _post(w)
    _flag(w, "post", post.id, ["spam"])
    actions.keep(w.mod1, "den", "post", post.id, "it is fine")
    return lambda t: "it is fine"


def l_hide(w):
    n_hidden(w)
    return lambda t: _log_reason(t, "flagged", ["spam"])


def l_delete(w):
    n_deleted(w)
    return lambda t: "Regla 2: sé amable"


def l_redact(w):
    n_redacted(w)
    return lambda t: t.gettext("Personal information removed")


def l_lock(w):
    actions.set_locked(w.mod1, w.thread.id, True)
    return None


def l_unlock(w):
    actions.set_locked(w.mod1, w.thread.id, True)
    actions.set_locked(w.mod1, w.thread.id, False)
    return None


def l_pin(w):
    actions.set_pinned(w.mod1, w.thread.id, True)
    return None


def l_unpin(w):
    actions.set_pinned(w.mod1, w.thread.id, True)
    actions.set_pinned(w.mod1, w.thread.id, False)
    return None


def l_mute(w):
    post = _post(w)
    _flag(w, "post", post.id, ["hate"])
    actions.mute(w.mod1, "den", "post", post.id, 72)
    return lambda t: say(
        t,
        ("%(reason)s (%(num)s hour)", "%(reason)s (%(num)s hours)"),
        72,
        reason=_log_reason(t, "flagged", ["hate"]),
    )


def l_remove(w):
    n_removed(w)
    return lambda t: "spam links"


def l_suspend(w):
    post = _post(w)
    actions.suspend(w.admin, "den", "post", post.id, 7)
    return lambda t: say(t, ("%(num)s day", "%(num)s days"), 7)


def l_alert_remove(w):
    space_access = access.access_space(w.mod1, "den")
    actions.log_alert_removal(
        space_access, w.mod1, author_id=w.author.id, author_name="Fred", reason="old news"
    )
    db.session.commit()
    return lambda t: "old news"


def l_appeal_upheld(w):
    n_appeal_refused(w)
    return lambda t: "looked again"


def l_appeal_overturned(w):
    n_appeal_shown(w)
    return lambda t: "looked again"


LOG_SCENARIOS: dict[str, Callable[[World], Callable | None]] = {
    "auto_hide": l_auto_hide,
    "keep": l_keep,
    "hide": l_hide,
    "delete": l_delete,
    "redact": l_redact,
    "lock": l_lock,
    "unlock": l_unlock,
    "pin": l_pin,
    "unpin": l_unpin,
    "mute": l_mute,
    "remove": l_remove,
    "suspend": l_suspend,
    "alert_remove": l_alert_remove,
    "appeal_upheld": l_appeal_upheld,
    "appeal_overturned": l_appeal_overturned,
}
# Which reason codes each scenario's line carries (every code of wording.REASONS is made).
LOG_REASON_CODES = {
    "auto_hide": {"flagged_by_members"},
    "hide": {"flagged"},
    "mute": {"flagged"},
    "redact": {"personal"},
}


@pytest.mark.parametrize("action", sorted(LOG_SCENARIOS))
def test_each_log_line_reads_in_the_members_language(app, world, action):
    reason = LOG_SCENARIOS[action](world)
    line = db.session.scalar(
        sa.select(ModAction).where(ModAction.action == action).order_by(ModAction.id.desc())
    )
    assert line is not None
    assert line.reason_code in (LOG_REASON_CODES.get(action, set()) | {None})
    for lang in LANGUAGES:
        t = catalogue(lang)
        for reader in (world.mod2, world.flaggers[0]):  # a moderator, and a member
            body = read_as(app, reader, lang, "/s/den/mod/log")
            shown = page_text(body)
            assert t.gettext(modlog.ACTION_LABELS[action]) in shown
            if reason is not None:
                assert reason(t) in shown, (lang, reason(t), shown[-1500:])
                english = reason(gettext.NullTranslations())
                if english != reason(t):  # a typed reason is the same in every language
                    assert english not in shown
            assert leaks(body, translated_msgids(lang)) == []
        if action in ("hide", "delete", "mute"):  # what the member appeals reads the same
            body = read_as(app, world.author, lang, f"/s/{world.space.id}/mod/appeal/{line.id}")
            assert reason(t) in page_text(body)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_who_acted_reads_in_the_members_language(app, world, lang):
    """Members' flags, an unnamed moderator and an instance admin who is not a member."""
    n_flag_hidden(world)
    actions.set_pinned(world.mod1, world.thread.id, True)
    world.space.modlog_names_moderator = True
    db.session.commit()
    actions.suspend(world.admin, "den", "post", _post(world).id, 1, "")
    actions.set_locked(world.mod1, world.thread.id, True)
    stored = db.session.scalars(sa.select(ModAction.moderator_name)).all()
    assert "an instance admin" not in stored
    t = catalogue(lang)
    shown = page_text(read_as(app, world.mod2, lang, "/s/den/mod/log"))
    for words in ("members' flags", "a moderator", "an instance admin"):
        assert t.gettext(words) in shown and words not in shown
    assert "MinaMod" in shown  # a named moderator is their name in every language


# --- rows from before codes, and hostile values --------------------------------------------


def test_an_old_english_notice_still_shows_as_it_was(app, world):
    db.session.add(
        Notice(
            account_id=world.author.id,
            text='A moderator gave you a warning in "Den of Peers".',
            created_at=clock_module.now(),
            expires_at=clock_module.now() + timedelta(days=3),
        )
    )
    db.session.commit()
    shown = page_text(read_as(app, world.author, "es", "/notices"))
    assert 'A moderator gave you a warning in "Den of Peers".' in shown


def test_an_old_log_reason_still_shows_as_it_was(app, world):
    line = modlog.write(None, world.space.id, "keep", target_name="Fred", reason="Old words.")
    assert line.reason_code is None
    db.session.commit()
    assert "Old words." in page_text(read_as(app, world.mod2, "ru", "/s/den/mod/log"))


HOSTILE = [
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "%(space)s %(x)s %s %d {0} {space} {{ 7*7 }} ${7*7}",
    "\u202eevil\u202c and \x00 nul",
    "x" * 10_000,
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_hostile_values_render_escaped_without_an_error(app, world, lang):
    for value in HOSTILE:
        notices.notify(world.author.id, "removed", {"space": world.space.id, "reason": value})
    # values a newer or older version, or a hand, might have left: wrong types, no space
    broken = [
        {"space": "den", "reason": ["a"], "reasons": "spam", "hours": "24", "kind": 5},
        {"space": 10**30, "hours": True, "reason_code": "no-such", "reasons": [None, 3]},
        {},
    ]
    for values in broken:
        notices.notify(world.author.id, "muted", values)
    db.session.add(
        Notice(
            account_id=world.author.id,
            text="",
            code="hidden",
            params="not json {",
            created_at=clock_module.now(),
            expires_at=clock_module.now() + timedelta(days=3),
        )
    )
    db.session.add(
        Notice(
            account_id=world.author.id,
            text="",
            code="no_such_code",
            params=json.dumps({"space": world.space.id}),
            created_at=clock_module.now(),
            expires_at=clock_module.now() + timedelta(days=3),
        )
    )
    # A log reason is a plain column: PostgreSQL cannot hold NUL in one, so only an SQLite
    # row can carry it (no form lets it through: forum/text.py, tests/test_hostile_input.py).
    # The notices above hold it on both (their values are sealed JSON).
    storable = [v for v in HOSTILE if "\x00" not in v or db.engine.dialect.name == "sqlite"]
    for value in storable:
        modlog.write(None, world.space.id, "keep", target_name="Fred", reason=value)
    for code, values in (("flagged", {"reasons": "<b>x</b>"}), (None, {"hours": "<i>zz</i>"})):
        row = modlog.write(None, world.space.id, "hide", target_name="Fred")
        db.session.execute(
            sa.update(ModAction)
            .where(ModAction.id == row.id)
            .values(reason_code=code, reason_values=values)
        )
    db.session.commit()
    for reader, path in ((world.author, "/notices"), (world.mod2, "/s/den/mod/log")):
        body = read_as(app, reader, lang, path)
        assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
        assert "<b>x</b>" not in body and "<i>zz</i>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        shown = page_text(body)
        assert "%(space)s %(x)s %s %d {0} {space} {{ 7*7 }} ${7*7}" in shown
        assert "x" * 300 in shown  # long words shown, not a 500 (the log cuts them to 300)
    t = catalogue(lang)
    shown = page_text(read_as(app, world.author, lang, "/notices"))
    assert say(t, "A moderator acted on something of yours.") in shown  # unknown code
    assert t.gettext("a space that is gone") in shown


def test_a_notice_code_without_wording_is_refused(app, world):
    with pytest.raises(ValueError, match="no wording"):
        notices.notify(world.author.id, "warned", {"space": world.space.id})
    with pytest.raises(ValueError, match="no wording"):
        modlog.write(None, world.space.id, "keep", reason_code="because")


def test_the_reason_in_a_notice_stays_sealed(app, world):
    """The moderator's words are stored as they were before: sealed under the notice's key
    (forum/sealed.py), so they go when the key does."""
    post = _post(world)
    actions.hide(world.mod1, "den", "post", post.id, "zebra-crossing-words")
    with db.engine.connect() as connection:
        raw = connection.execute(sa.text("SELECT text, params FROM notices")).one()
    assert raw.params.startswith(sealed.MAGIC) and "zebra" not in raw.params
    assert raw.text == ""


# --- migration 0020: old English rows -------------------------------------------------------

OLD_NOTICES = sa.table(
    "notices",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("link", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("expires_at", UTCDateTime()),
    sa.column("seen", sa.Boolean),
)
OLD_LOG = sa.table(
    "mod_actions",
    sa.column("id", sa.Integer),
    sa.column("space_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("target_name", sa.String),
    sa.column("reason", sa.String),
    sa.column("moderator_name", sa.String),
    sa.column("created_at", UTCDateTime()),
)


@pytest.mark.parametrize("which", ["app", "pg_app"])
def test_migration_0020_words_old_english_rows_and_keeps_the_rest(request, which, clock):
    """Rows written as English sentences before 0020: the ones this code wrote get a code
    (and then read in Spanish); any other keeps its text. Downgrade writes English back.
    On SQLite and on PostgreSQL (skipped where it is not running)."""
    import flask_migrate

    app = request.getfixturevalue(which)
    world = build_world(clock)

    space_id, author_id, mod2_id = world.space.id, world.author.id, world.mod2.id
    db.session.commit()
    db.session.close()
    flask_migrate.downgrade(revision="0019")
    now = clock_module.now()
    ends = now + timedelta(days=3)
    old = {
        "hidden": f'A moderator hid your chat message in "{SPACE_NAME}". Reason: Flagged: '
        "spam or scam. You can edit it or appeal.",
        "muted": f'A moderator muted you in "{SPACE_NAME}" for 24 hours. Reason: be. nice. '
        "You can appeal.",
        "appeal_undone": f'Your appeal in "{SPACE_NAME}" overturned',  # the older wording
        None: "A sentence this code never wrote.",
    }
    links = {"hidden": f"/s/{space_id}/mod/appeal/1", "muted": "/s/den/mod/appeal/2"}
    with db.engine.begin() as connection:
        for code, text in old.items():
            stored = sealed.seal_for(Notice, text, account_id=author_id, expires_at=ends)
            connection.execute(
                OLD_NOTICES.insert().values(
                    account_id=author_id,
                    text=stored,
                    link=links.get(code),
                    created_at=now,
                    expires_at=ends,
                    seen=False,
                )
            )
        for action, reason, name in (
            ("auto_hide", "Flagged by members: harassment or threats, spam or scam", None),
            ("mute", "Flagged: hate (24 h)", None),
            ("suspend", "rule 4 (7 days)", "an instance admin"),
            ("redact", "Personal information removed", "MinaMod"),
            ("keep", "Flagged: not a label we have", None),
        ):
            connection.execute(
                OLD_LOG.insert().values(
                    space_id=space_id,
                    action=action,
                    target_name="Fred",
                    reason=reason,
                    moderator_name=name,
                    created_at=now,
                )
            )
    flask_migrate.upgrade()
    db.session.close()

    rows = {n.id: n for n in db.session.scalars(sa.select(Notice).order_by(Notice.id))}
    assert [n.code for n in rows.values()] == ["hidden", "muted", "appeal_undone", None]
    assert list(rows.values())[-1].text == old[None]
    assert wording.load(list(rows.values())[1].params) == {
        "space": space_id,
        "hours": 24,
        "reason": "be. nice",
    }
    t = catalogue("es")
    shown = page_text(read_as(app, db.session.get(Account, author_id), "es", "/notices"))
    spam = listed(t, ["spam"])
    for expected in (
        say(
            t,
            NOTICE_MSGIDS["hidden"],
            item=t.gettext("chat message"),
            space=SPACE_NAME,
            reason=say(t, "Flagged: %(reasons)s", reasons=spam),
        ),
        say(t, NOTICE_MSGIDS["muted"], 24, space=SPACE_NAME, reason="be. nice"),
        say(t, NOTICE_MSGIDS["appeal_undone"], space=SPACE_NAME),
        old[None],
    ):
        assert expected in shown, expected

    lines = {
        line.action: line
        for line in db.session.scalars(sa.select(ModAction).where(ModAction.target_name == "Fred"))
    }
    assert (lines["auto_hide"].reason, lines["auto_hide"].reason_code) == ("", "flagged_by_members")
    assert lines["mute"].reason_values == {"reasons": ["hate"], "hours": 24}
    assert (lines["suspend"].reason, lines["suspend"].reason_values) == ("rule 4", {"days": 7})
    assert lines["suspend"].moderator_name == ""
    assert lines["keep"].reason == "Flagged: not a label we have"  # left as it was
    shown = page_text(read_as(app, db.session.get(Account, mod2_id), "es", "/s/den/mod/log"))
    for expected in (
        say(t, "Flagged by members: %(reasons)s", reasons=listed(t, ["harassment", "spam"])),
        say(
            t,
            ("%(reason)s (%(num)s hour)", "%(reason)s (%(num)s hours)"),
            24,
            reason=say(t, "Flagged: %(reasons)s", reasons=listed(t, ["hate"])),
        ),
        say(t, ("%(reason)s (%(num)s day)", "%(reason)s (%(num)s days)"), 7, reason="rule 4"),
        t.gettext("Personal information removed"),
        t.gettext("an instance admin"),
        "Flagged: not a label we have",
    ):
        assert expected in shown, expected

    db.session.close()
    flask_migrate.downgrade(revision="0019")
    with db.engine.connect() as connection:
        texts = [
            sealed.vault().open(text)
            for text in connection.execute(
                sa.select(OLD_NOTICES.c.text).order_by(OLD_NOTICES.c.id)
            ).scalars()
        ]
        reasons = dict(
            connection.execute(
                sa.select(OLD_LOG.c.action, OLD_LOG.c.reason).where(OLD_LOG.c.target_name == "Fred")
            ).all()
        )
        admin = connection.execute(
            sa.select(OLD_LOG.c.moderator_name).where(OLD_LOG.c.action == "suspend")
        ).scalar()
    assert texts[0] == old["hidden"] and texts[1] == old["muted"] and texts[3] == old[None]
    assert texts[2] == f'Your appeal in "{SPACE_NAME}" succeeded: the decision is undone.'
    assert reasons["auto_hide"] == "Flagged by members: harassment or threats, spam or scam"
    assert reasons["mute"] == "Flagged: hate (24 h)" and reasons["suspend"] == "rule 4 (7 days)"
    assert admin == "an instance admin"
    flask_migrate.upgrade()
    db.session.close()


# --- the review queue: notes of watched words -----------------------------------------------

FLAG_NOTE_MSGIDS = {
    "watch_hold": 'Held for approval: watched word "%(word)s"',
    "watch_flag": 'Watched word "%(word)s"',
}


def test_watched_word_notes_read_in_the_moderators_language(app, world):
    watchwords.add_word(world.owner, "den", "holdme", "hold")
    watchwords.add_word(world.owner, "den", "iffy", "flag")
    threads.create_thread(world.author, "den", title="one", body="please holdme")
    threads.create_thread(world.author, "den", title="two", body="a bit iffy")
    stored = set(db.session.execute(sa.select(Flag.note, Flag.note_code)).all())
    assert stored == {("holdme", "watch_hold"), ("iffy", "watch_flag")}  # words, not sentences
    for lang in LANGUAGES:
        t = catalogue(lang)
        body = read_as(app, world.mod2, lang, "/s/den/mod/queue")
        shown = page_text(body)
        for code, word in (("watch_hold", "holdme"), ("watch_flag", "iffy")):
            assert say(t, FLAG_NOTE_MSGIDS[code], word=word) in shown
            assert FLAG_NOTE_MSGIDS[code] % {"word": word} not in shown
        assert leaks(body, translated_msgids(lang)) == []


OLD_FLAGS = sa.table(
    "mod_flags",
    sa.column("id", sa.Integer),
    sa.column("space_id", sa.Integer),
    sa.column("target_kind", sa.String),
    sa.column("target_id", sa.Integer),
    sa.column("flagger_id", sa.Integer),
    sa.column("author_id", sa.Integer),
    sa.column("reason", sa.String),
    sa.column("note", sa.String),
    sa.column("weight", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_at", UTCDateTime()),
)


@pytest.mark.parametrize("which", ["app", "pg_app"])
def test_migration_0022_words_old_watched_word_notes(request, which, clock):
    """Old English notes of system flags become a word and a code; a member's note that
    happens to read the same stays as typed; downgrade writes English back."""
    import flask_migrate

    request.getfixturevalue(which)
    world = build_world(clock)
    space_id, author_id, flagger_id = world.space.id, world.author.id, world.flaggers[0].id
    db.session.commit()
    db.session.close()
    flask_migrate.downgrade(revision="0021")
    notes = [
        (None, 'Held for approval: watched word "hold me"'),
        (None, 'Watched word "iffy"'),
        (None, "a note of some other kind"),
        (flagger_id, 'Watched word "mine"'),  # a member typed it: theirs, as typed
    ]
    with db.engine.begin() as connection:
        for n, (who, note) in enumerate(notes):
            connection.execute(
                OLD_FLAGS.insert().values(
                    space_id=space_id,
                    target_kind="post",
                    target_id=1000 + n,
                    flagger_id=who,
                    author_id=author_id,
                    reason="other",
                    note=note,
                    weight=0,
                    status="open",
                    created_at=clock_module.now(),
                )
            )
    flask_migrate.upgrade()
    db.session.close()
    rows = db.session.execute(
        sa.select(Flag.note, Flag.note_code).where(Flag.target_id >= 1000).order_by(Flag.id)
    ).all()
    assert list(rows) == [
        ("hold me", "watch_hold"),
        ("iffy", "watch_flag"),
        ("a note of some other kind", None),
        ('Watched word "mine"', None),
    ]
    db.session.close()
    flask_migrate.downgrade(revision="0021")
    with db.engine.connect() as connection:
        back = connection.execute(
            sa.select(OLD_FLAGS.c.note)
            .where(OLD_FLAGS.c.target_id >= 1000)
            .order_by(OLD_FLAGS.c.id)
        ).scalars()
        assert list(back) == [note for _who, note in notes]
    flask_migrate.upgrade()
    db.session.close()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_appeals_status_reads_in_the_members_language(app, world, lang):
    """The appeal page said "(open)", the stored key, to every reader."""
    actions.hide(world.mod1, "den", "post", _post(world).id, "rule 1")
    line = db.session.scalar(sa.select(ModAction).where(ModAction.action == "hide"))
    row = appeals.appeal(world.author, line.id, "I was only warning people")
    t = catalogue(lang)
    path = f"/s/{world.space.id}/mod/appeal/{line.id}"
    for outcome, status in (
        (None, "waiting for a decision"),
        ("uphold", "refused: the decision stays"),
    ):
        if outcome is not None:
            appeals.decide(world.mod2, "den", row.id, outcome, "looked again")
        shown = page_text(read_as(app, world.author, lang, path))
        msgid = "You have appealed this decision (%(status)s). You get one appeal per decision."
        assert say(t, msgid, status=t.gettext(status)) in shown
        assert "(open)" not in shown and "(upheld)" not in shown
