"""Notices and log reasons are stored as a code and its values, worded when read.

``notices`` gets ``code`` and ``params`` (JSON of ids, numbers and the moderator's
reason as typed, sealed under the notice's key like its text); ``mod_actions`` gets
``reason_code`` and ``reason_values`` (the typed reason stays in ``reason``). Rows
written before are mapped where their English sentence is one this code wrote (the
sentences of the plain-words wording, and the two older appeal outcomes); the others
keep their text and show it as it is. An instance admin's name in the log ("an
instance admin") becomes "" (worded when read).

The sentences and flag-reason labels below are a frozen copy of what the code wrote:
a migration must not change when the code does. Downgrade writes the English
sentences back. Plain ADD/DROP COLUMN only (a batch copy of a table drops it, which
cascades on SQLite with foreign keys on).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:00:00

"""

import json
import re

import sqlalchemy as sa
from alembic import op

from forum import sealed
from forum.dbtypes import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

NOTICES = sealed.Epoch(scope="account_id", expires="expires_at", length=sealed.HOUR, prefix="a")
LABELS = {
    "harassment": "Harassment or threats",
    "outing": "Outing / personal information",
    "hate": "Hate",
    "spam": "Spam or scam",
    "rescue": '"Rescue" or anti-sex-work preaching',
    "offtopic": "Off-topic",
    "other": "Other",
}
KEYS = {label.lower(): key for key, label in LABELS.items()}
NOUNS = {
    "post": "post",
    "thread": "thread",
    "chat": "chat message",
    "report": "report",
    "dm": "direct message",
}
KINDS = {noun: kind for kind, noun in NOUNS.items()}
NOUN = "(?P<noun>post|thread|chat message|report|direct message)"
SPACE = '"(?P<space>.*)"'
REASON = r"Reason: (?P<reason>.*)\."

# code -> (regular expression of the stored English, English to write back on downgrade).
SENTENCES = {
    "flag_hidden": (
        f"Your {NOUN} in {SPACE} was hidden after members flagged it \\((?P<reasons>.*)\\)\\. "
        r"A moderator will review it\. You can edit it \(if it can be edited\) or appeal\.",
        'Your {item} in "{space}" was hidden after members flagged it ({reasons}). '
        "A moderator will review it. You can edit it (if it can be edited) or appeal.",
    ),
    "hidden": (
        f"A moderator hid your {NOUN} in {SPACE}\\. {REASON} You can edit it or appeal\\.",
        'A moderator hid your {item} in "{space}". Reason: {reason}. You can edit it or appeal.',
    ),
    "deleted": (
        f"A moderator deleted your {NOUN} in {SPACE}\\. {REASON} You can appeal\\.",
        'A moderator deleted your {item} in "{space}". Reason: {reason}. You can appeal.',
    ),
    "redacted": (
        f"A moderator took personal information out of your {NOUN} in {SPACE}\\. "
        r"The rest is kept\.",
        'A moderator took personal information out of your {item} in "{space}". The rest is kept.',
    ),
    "muted": (
        f"A moderator muted you in {SPACE} for (?P<hours>\\d+) hours\\. {REASON} "
        r"You can appeal\.",
        'A moderator muted you in "{space}" for {hours} hours. Reason: {reason}. You can appeal.',
    ),
    "removed": (
        f"A moderator removed you from {SPACE}\\. {REASON}",
        'A moderator removed you from "{space}". Reason: {reason}.',
    ),
    "held": (
        f"Your {NOUN} in {SPACE} is waiting for a moderator: it contains a word this "
        r"space's moderators check first\. Nobody else sees it until they approve it\.",
        'Your {item} in "{space}" is waiting for a moderator: it contains a word this '
        "space's moderators check first. Nobody else sees it until they approve it.",
    ),
    "appeal_refused": (
        f"Your appeal in {SPACE} (?:was looked at again\\. The decision stays\\."
        "|upheld: the decision stands)",
        'Your appeal in "{space}" was looked at again. The decision stays.',
    ),
    "appeal_undone": (
        f"Your appeal in {SPACE} (?:succeeded: the decision is undone\\.|overturned)",
        'Your appeal in "{space}" succeeded: the decision is undone.',
    ),
    "appeal_shown": (
        f"Your appeal in {SPACE} succeeded: your post shows again\\.",
        'Your appeal in "{space}" succeeded: your post shows again.',
    ),
    "appeal_unmuted": (
        f"Your appeal in {SPACE} succeeded: you can write there again\\.",
        'Your appeal in "{space}" succeeded: you can write there again.',
    ),
    "appeal_not_back": (
        f"Your appeal in {SPACE} succeeded, but what was deleted cannot come back\\. "
        r"You can post it again if you like\.",
        'Your appeal in "{space}" succeeded, but what was deleted cannot come back. '
        "You can post it again if you like.",
    ),
}
PATTERNS = {code: re.compile(pattern, re.DOTALL) for code, (pattern, _e) in SENTENCES.items()}
LINK_SPACE = re.compile(r"^/s/([^/]+)/mod/")
HOURS = re.compile(r"^(?P<rest>.*?) ?\((?P<num>\d+) h\)$", re.DOTALL)
DAYS = re.compile(r"^(?P<rest>.*?) ?\((?P<num>\d+) days\)$", re.DOTALL)
ADMIN = "an instance admin"

notices = sa.table(
    "notices",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("expires_at", UTCDateTime()),
    sa.column("text", sa.Text),
    sa.column("link", sa.String),
    sa.column("action_id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("params", sa.Text),
)
actions = sa.table(
    "mod_actions",
    sa.column("id", sa.Integer),
    sa.column("space_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("reason", sa.String),
    sa.column("reason_code", sa.String),
    sa.column("reason_values", sa.JSON(none_as_null=True)),
    sa.column("moderator_name", sa.String),
)


def flag_keys(listed: str) -> list[str] | None:
    """Flag-reason labels as the code joined them, back to keys (None if one is unknown)."""
    keys = [KEYS.get(part) for part in listed.split(", ")] if listed else []
    return None if None in keys or not keys else sorted(set(keys))


def reason_values(reason: str, generated: tuple[str, ...] = ("Flagged: ",)) -> dict | None:
    """A stored reason as values: typed words, or the flags' (None: nothing generated)."""
    for prefix, code in (("Flagged by members: ", "flagged_by_members"), ("Flagged: ", "flagged")):
        if prefix in generated and reason.startswith(prefix):
            keys = flag_keys(reason[len(prefix) :])
            if keys is not None:
                return {"reason_code": code, "reasons": keys}
    return None


def english_reason(code: str | None, values: dict) -> str:
    keys = values.get("reasons") or []
    listed = ", ".join(sorted({LABELS[key].lower() for key in keys if key in LABELS}))
    if code == "flagged_by_members":
        return "Flagged by members: " + listed
    if code == "flagged":
        return "Flagged: " + listed
    if code == "personal":
        return "Personal information removed"
    return ""


# --- the log -------------------------------------------------------------------------------


def map_log_row(action: str, reason: str) -> tuple[str, str | None, dict] | None:
    """(typed reason, code, values) for a stored reason, or None to leave it as it is."""
    values: dict = {}
    rest = reason
    if action in ("mute", "suspend"):
        found = (HOURS if action == "mute" else DAYS).match(reason)
        if found is None:
            return None
        rest = found.group("rest")
        values["hours" if action == "mute" else "days"] = int(found.group("num"))
    if action == "redact" and rest == "Personal information removed":
        return "", "personal", values
    generated = ("Flagged by members: ",) if action == "auto_hide" else ("Flagged: ",)
    flagged = reason_values(rest, generated)
    if flagged is not None:
        values["reasons"] = flagged["reasons"]
        return "", flagged["reason_code"], values
    if not values:
        return None
    return rest, None, values


def upgrade_log(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(actions.c.id, actions.c.action, actions.c.reason)).all()
    for row in rows:
        mapped = map_log_row(row.action, row.reason or "")
        if mapped is None:
            continue
        typed, code, values = mapped
        bind.execute(
            sa.update(actions)
            .where(actions.c.id == row.id)
            .values(reason=typed, reason_code=code, reason_values=values or None)
        )
    bind.execute(
        sa.update(actions).where(actions.c.moderator_name == ADMIN).values(moderator_name="")
    )


def downgrade_log(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(
            actions.c.id,
            actions.c.action,
            actions.c.reason,
            actions.c.reason_code,
            actions.c.reason_values,
        ).where(sa.or_(actions.c.reason_code.is_not(None), actions.c.reason_values.is_not(None)))
    ).all()
    for row in rows:
        values = row.reason_values if isinstance(row.reason_values, dict) else {}
        said = row.reason or english_reason(row.reason_code, values)
        if isinstance(values.get("hours"), int):
            said = f"{said} ({values['hours']} h)".strip()
        elif isinstance(values.get("days"), int):
            said = f"{said} ({values['days']} days)".strip()
        bind.execute(sa.update(actions).where(actions.c.id == row.id).values(reason=said[:300]))
    bind.execute(
        sa.update(actions).where(actions.c.moderator_name == "").values(moderator_name=ADMIN)
    )


# --- notices -------------------------------------------------------------------------------


def find_space(bind: sa.Connection, link: str | None, action_id: int | None, name: str):
    """The id of the space a notice speaks of: from its link, its log line, else its name
    when exactly one space has it (None when unsure)."""
    found = LINK_SPACE.match(link or "")
    if found is not None:
        ref = found.group(1)
        column = "id" if ref.isdigit() else "slug"
        space_id = bind.execute(
            sa.text(f"SELECT id FROM spaces WHERE {column} = :ref"),  # nosec B608: constants
            {"ref": int(ref) if ref.isdigit() else ref},
        ).scalar()
        if space_id is not None:
            return space_id
    if action_id is not None:
        space_id = bind.execute(
            sa.text("SELECT space_id FROM mod_actions WHERE id = :id"), {"id": action_id}
        ).scalar()
        if space_id is not None:
            return space_id
    ids = bind.execute(sa.text("SELECT id FROM spaces WHERE name = :n"), {"n": name}).all()
    return ids[0][0] if len(ids) == 1 else None


def map_notice(bind: sa.Connection, text: str, link: str | None, action_id: int | None):
    """(code, values) for an English notice this code wrote, else None."""
    for code, pattern in PATTERNS.items():
        found = pattern.fullmatch(text)
        if found is None:
            continue
        parts = found.groupdict()
        space_id = find_space(bind, link, action_id, parts["space"])
        if space_id is None:
            return None
        values: dict = {"space": space_id}
        if parts.get("noun"):
            values["kind"] = KINDS[parts["noun"]]
        if parts.get("hours"):
            values["hours"] = int(parts["hours"])
        if parts.get("reasons") is not None:
            keys = flag_keys(parts["reasons"])
            if keys is None:
                return None
            values["reasons"] = keys
        reason = parts.get("reason")
        if reason is not None and reason != "not given":
            values.update(reason_values(reason) or {"reason": reason})
        return code, values
    return None


def _seal(box: sealed.Vault, opened: object, row: sa.Row, plain: str) -> str:
    kid = getattr(opened, "key_id", None)
    if kid is None:
        kid, _cipher = box.key_for(*sealed.epoch_of(NOTICES, row))
    return box.seal(plain, kid)


def upgrade_notices(bind: sa.Connection) -> None:
    box = sealed.vault()
    rows = bind.execute(
        sa.select(
            notices.c.id,
            notices.c.account_id,
            notices.c.expires_at,
            notices.c.text,
            notices.c.link,
            notices.c.action_id,
        )
    ).all()
    for row in rows:
        opened = box.open(row.text or "")
        if not opened:
            continue  # shredded (its key is gone: the sweep deletes it) or empty
        mapped = map_notice(bind, str(opened), row.link, row.action_id)
        if mapped is None:
            continue  # shown as it is
        code, values = mapped
        params = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        bind.execute(
            sa.update(notices)
            .where(notices.c.id == row.id)
            .values(code=code, params=_seal(box, opened, row, params), text="")
        )


def english_notice(bind: sa.Connection, code: str, values: dict) -> str:
    space_id = values.get("space")
    name = bind.execute(
        sa.text("SELECT name FROM spaces WHERE id = :id"), {"id": space_id}
    ).scalar()
    reason = values.get("reason") or english_reason(values.get("reason_code"), values)
    return SENTENCES[code][1].format(
        item=NOUNS.get(values.get("kind"), "item"),
        space=name if name is not None else "a space that is gone",
        reasons=english_reason("flagged", values)[len("Flagged: ") :],
        reason=reason or "not given",
        hours=values.get("hours"),
    )


def downgrade_notices(bind: sa.Connection) -> None:
    box = sealed.vault()
    rows = bind.execute(
        sa.select(
            notices.c.id,
            notices.c.account_id,
            notices.c.expires_at,
            notices.c.code,
            notices.c.params,
        ).where(notices.c.code.is_not(None))
    ).all()
    for row in rows:
        opened = box.open(row.params or "")
        try:
            values = json.loads(str(opened)) if opened else {}
        except ValueError:
            values = {}
        if row.code not in SENTENCES or not isinstance(values, dict):
            continue
        text = english_notice(bind, row.code, values)[:500]
        bind.execute(
            sa.update(notices)
            .where(notices.c.id == row.id)
            .values(text=_seal(box, opened, row, text) if opened else "")
        )


def upgrade():
    op.add_column("notices", sa.Column("code", sa.String(length=20), nullable=True))
    op.add_column("notices", sa.Column("params", sa.Text(), nullable=True))
    op.add_column("mod_actions", sa.Column("reason_code", sa.String(length=20), nullable=True))
    op.add_column(
        "mod_actions", sa.Column("reason_values", sa.JSON(none_as_null=True), nullable=True)
    )
    bind = op.get_bind()
    upgrade_log(bind)
    upgrade_notices(bind)


def downgrade():
    bind = op.get_bind()
    downgrade_notices(bind)
    downgrade_log(bind)
    for table, column in (
        ("mod_actions", "reason_values"),
        ("mod_actions", "reason_code"),
        ("notices", "params"),
        ("notices", "code"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # nosec B608: constants
