"""Starter spaces: the demo's and a new instance's first places to talk.

``create_starter_spaces()`` is idempotent (by slug): ``flask --app forum demo`` and
``flask --app forum starter-spaces`` both call it. Starter spaces have no owner;
instance admins act as owners everywhere until they appoint people.
"""

from __future__ import annotations

import sqlalchemy as sa

from forum import clock
from forum import signals
from forum.extensions import db
from forum.models import Space

_SHARED_RULES = """\
**This is peer support.** We are here for each other, as equals. Share what you know,
ask what you need, and let people tell their own story in their own words.

- **No outing.** Never post anyone's real name, face, workplace, phone number, address,
  ads or any detail that could identify them, and never hint at who someone is offline.
- **Keep others' details out.** Screenshots of other people's messages or profiles only
  with every name, number and face removed.
- **No "rescue" preaching.** Nobody here needs saving or a lecture about their work.
  Respect the choices people make about their own lives.
- **Be kind when you disagree.** Talk about the idea, not the person.
- **Take care.** Use a content warning for hard topics. If something here puts anyone
  in danger, flag it and the moderators will act fast.
"""

STARTER_SPACES = (
    {
        "slug": "newcomers",
        "name": "Newcomers",
        "kind": "open",
        "description": "New here? Say hello, ask anything, find your way around.",
        "intro": "Welcome! There are no silly questions here. "
        "Take your time, and keep yourself safe: "
        "you never have to share anything that could identify you.",
    },
    {
        "slug": "online-workers",
        "name": "Online workers",
        "kind": "open",
        "description": (
            "Cams, clips, subscriptions and sexting: platforms, payments, privacy and pricing."
        ),
        "intro": "Talk platforms, payouts, pricing and staying anonymous online. "
        "Don't link your own or anyone else's accounts here.",
    },
    {
        "slug": "hiv-peer-support",
        "name": "HIV+ peer support",
        "kind": "closed",
        "description": "A closed group for people living with HIV, and only them.",
        "join_question": "In a sentence or two: why would you like to join this group?",
        "intro": "This group is closed: only its members see what is said here. What is shared in "
        "this group stays in this group. Health questions are welcome; medical advice comes "
        "from your clinic, and we can help you find a friendly one.",
    },
    {
        "slug": "safety-bad-dates",
        "name": "Safety & bad dates",
        "kind": "open",
        "description": "Warn each other about dangerous clients and share what keeps you safe.",
        "intro": "Describe what happened and what to watch for. Share a bad client's details only "
        "as far as others need them to stay safe, and never details of other workers.",
    },
    {
        "slug": "know-your-rights",
        "name": "Know your rights",
        "kind": "open",
        "description": (
            "Laws, police, landlords, banks and benefits: what the rules are and where to get help."
        ),
        "intro": "Laws differ from place to place: say where your question is about (a country "
        "or region is enough). Nothing here is legal advice, but we can point each other to "
        "people who give it for free.",
    },
)


def create_starter_spaces() -> list[Space]:
    """Create the starter spaces that are missing (realtime adds each one's chat room)."""
    created: list[Space] = []
    for spec in STARTER_SPACES:
        existing = db.session.scalar(sa.select(Space).where(Space.slug == spec["slug"]))
        if existing is not None:
            continue
        space = Space(
            slug=spec["slug"],
            name=spec["name"],
            kind=spec["kind"],
            description=spec["description"],
            rules=spec["intro"] + "\n\n" + _SHARED_RULES,
            join_question=spec.get("join_question"),
            created_at=clock.today(),
        )
        db.session.add(space)
        created.append(space)
    db.session.commit()
    for space in created:
        signals.space_created.send(space.id)  # realtime gives each its "General" room
    return created
