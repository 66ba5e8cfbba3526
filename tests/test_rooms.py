"""One room creator: every way a space comes to exist leaves it exactly one "General"
chat room, made by realtime/chat.py's ensure_default_room (forum only announces the space).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from forum import orgs
from forum import spaces
from forum import starter
from forum.extensions import db
from forum.models import Space
from realtime import chat
from realtime.models import ChatRoom
from tests import factories
from tests.support import login

ROOT = Path(__file__).resolve().parent.parent
BUILDS = re.compile(r"(?<!class )\bChatRoom\(")


def rooms_of(space_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(ChatRoom.name).where(ChatRoom.space_id == space_id)))


def test_open_and_organisation_spaces_get_one_general_room(app, make_account):
    admin = make_account("Keeper", admin=True)
    open_space = spaces.create_space(admin, name="Porch", kind="open")
    org = orgs.create_org(admin, name="Harbour")
    db.session.add(orgs.OrgStaff(organisation_id=org.id, account_id=admin.id))
    db.session.commit()
    closed = orgs.create_org_space(admin, org.slug, name="Back room", kind="closed")
    assert rooms_of(open_space.id) == ["General"] and rooms_of(closed.id) == ["General"]
    # Opening the room list never adds a second one.
    _access, listed = chat.list_rooms(admin, open_space.slug)
    listed = listed.items
    assert [r.name for r in listed] == ["General"] and rooms_of(open_space.id) == ["General"]


def test_starter_spaces_get_one_room_each_however_often_they_run(app):
    first = starter.create_starter_spaces()
    assert first and starter.create_starter_spaces() == []
    for space in db.session.scalars(sa.select(Space)):
        assert rooms_of(space.id) == ["General"], space.slug


def test_a_space_that_lost_its_rooms_gets_one_back_when_listed(app, make_account):
    admin = make_account("Keeper", admin=True)
    space = spaces.create_space(admin, name="Porch", kind="open")
    db.session.execute(sa.delete(ChatRoom).where(ChatRoom.space_id == space.id))
    db.session.commit()
    _access, listed = chat.list_rooms(admin, space.slug)
    listed = listed.items
    assert [r.name for r in listed] == ["General"] and rooms_of(space.id) == ["General"]


def test_only_realtime_chat_builds_rooms():
    """The rule lives in one module: nothing else in the product constructs a ChatRoom."""
    builders = [
        path.relative_to(ROOT).as_posix()
        for package in ("forum", "moderation", "realtime")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and BUILDS.search(path.read_text(encoding="utf-8"))
    ]
    assert builders == ["realtime/chat.py"]


def test_the_room_list_pages_like_every_list(app, client, make_account, monkeypatch):
    """forum/pagination.py: a page of rooms and a link on; archived rooms for owners only."""
    owner = make_account("Keeper")
    space = factories.make_space("open", owner=owner)
    reader = make_account("Reader")
    factories.add_member(space, reader)
    made = [factories.make_room(space, f"Room {n}") for n in range(4)]
    chat.archive_room(owner, space.slug, made[0].id)
    monkeypatch.setattr(chat, "ROOMS_PER_PAGE", 2)
    _access, first = chat.list_rooms(owner, space.slug)
    _access, third = chat.list_rooms(owner, space.slug, 3)
    assert [r.name for r in first.items] == ["General", "Room 0"] and first.has_next
    assert [r.name for r in third.items] == ["Room 3"] and not third.has_next
    _access, theirs = chat.list_rooms(reader, space.slug, 1)
    assert "Room 0" not in [r.name for r in theirs.items]
    login(client, "Reader")
    page = client.get(f"/s/{space.slug}/chat", query_string={"page": 2}).get_data(as_text=True)
    assert "Room 3" in page and "General" not in page and 'rel="prev"' in page
