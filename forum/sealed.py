"""Crypto-shredding: text that expires is stored encrypted under a key per retention epoch.

Why: on PostgreSQL a deleted row stays in table files until ``VACUUM FULL``, in WAL
segments until they are recycled, and in every backup. What is left there must be
unreadable once it has expired. So each expiring text column is stored as AES-256-GCM
ciphertext under the key of its *epoch*: one key per scope (a space; an account for
notices) per hour or day of expiry. All content of space S expiring in hour/day E shares
a key; the sweep destroys the key once E has passed (``destroy_ended``), and every copy
of that ciphertext, wherever it lingers, is noise from then on.

The keys live in the *vault*, a small SQLite file beside the app (``RB_VAULT_PATH``,
default ``instance/vault.db``) with ``secure_delete`` on and its WAL truncated after
each destruction: a deleted key row is zeroed in place, which a PostgreSQL row never is.
The vault also holds the search index (``forum/search.py``), the only other place plain
words are kept. Several processes on one host share the file (SQLite's own locking);
several hosts need one shared vault service instead (docs/EXPIRY.md).

Cipher: AES-256-GCM from ``cryptography`` (OpenSSL, AES-NI: a few microseconds per
message). Random 96-bit nonces are safe far beyond 2**32 messages per key; one epoch's
key sees orders of magnitude fewer. PyNaCl's XChaCha20-Poly1305 would allow more
messages per key, which an epoch key never needs, at the cost of another C library.

Stored form (text, so one column type holds it on both databases)::

    "\\x01S1." + key id + "." + base64(nonce 12 bytes | ciphertext | tag 16 bytes) + "."

The key id is in the value, so any row names its own key; the associated data binds the
ciphertext to that id. ``clean()`` refuses control characters in user text, so no
plain value starts with ``\\x01``: a column can be read while an old database is being
converted (migrations 0013-0015).

The seam, so the rest of the code reads and writes plain ``str``:

- models declare columns as ``SealedText()`` and say where the epoch comes from with
  ``__sealed__ = Epoch(scope="space_id", expires="expires_at", length=DAY)``;
- ``before_flush`` wraps each sealed value in a ``SealedStr`` (a ``str`` that knows
  its key id) for the epoch the row is in *now*: a new row, an edit, a redaction, an
  expiry moved earlier or later all re-encrypt under the right key;
- the column type encrypts a ``SealedStr`` and refuses a bare ``str`` (a write that
  bypassed the ORM would otherwise store plain text), and decrypts on load
  (a destroyed key reads as ``SHREDDED``, the empty string);
- bulk UPDATEs of an expiry column call ``reseal`` for the rows they moved.

SQL cannot see inside a sealed column: only ``IS NULL`` tests work on it (any other
comparison with a plain string raises).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import threading
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from flask import current_app
from sqlalchemy.types import TypeDecorator

from forum import clock
from forum import disk
from forum.dbtypes import UTCDateTime
from forum.extensions import db

log = logging.getLogger(__name__)

MAGIC = "\x01S1."
HOUR = 3600
DAY = 86400
KEEP = 0  # epoch length of content that never expires: its key is never destroyed
SHREDDED = ""  # what a value reads as once its key is gone


class SealedStr(str):
    """Plain text that knows which key it is (to be) sealed under."""

    key_id: int

    def __new__(cls, text: str, key_id: int) -> SealedStr:
        made = super().__new__(cls, text)
        made.key_id = key_id
        return made

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles are plain text
        return (str, (str(self),))


@dataclass(frozen=True)
class Epoch:
    """Where a model's epoch comes from: a scope column and an expiry column.

    ``prefix`` names the scope's kind in the key table ("s" space, "a" account).
    ``length`` is the epoch in seconds: HOUR for short-lived text (chat, DMs), DAY
    for posts. A NULL expiry (kept content) uses one KEEP key per scope.
    """

    scope: str
    expires: str
    length: int = DAY
    prefix: str = "s"


def epoch_of(epoch: Epoch, obj: Any) -> tuple[str, int, int]:
    scope = f"{epoch.prefix}{getattr(obj, epoch.scope)}"
    expires: datetime | None = getattr(obj, epoch.expires)
    if expires is None:
        return scope, 0, KEEP
    stamp = int(expires.timestamp())
    # The epoch holds expiries in (start, start + length]: content expiring exactly at
    # the end of an hour still belongs to it, so the key goes the moment it is due.
    start = ((stamp - 1) // epoch.length) * epoch.length
    return scope, start, epoch.length


# --- The vault: keys (and the search index) in an SQLite file that really deletes ---------


VAULT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS seal_keys (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         scope TEXT NOT NULL,
         start INTEGER NOT NULL,
         length INTEGER NOT NULL,
         key BLOB NOT NULL,
         UNIQUE (scope, start, length))""",
    "CREATE INDEX IF NOT EXISTS ix_seal_keys_end ON seal_keys (length, start)",
)


class Vault:
    """One vault file; keys cached in this process until their epoch ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(
            f"sqlite:///{self.path}",
            module=disk.sqlite_module(),
            poolclass=sa.pool.NullPool,
        )
        self._lock = threading.Lock()
        self._by_epoch: dict[tuple[str, int, int], int] = {}
        self._ciphers: dict[int, tuple[AESGCM, int | None]] = {}
        self._ready = False
        self._setup_hooks: list[Any] = []

    def on_setup(self, hook: Any) -> None:
        """``hook(connection)`` runs once when the file is first opened (search adds its index)."""
        self._setup_hooks.append(hook)

    def connect(self) -> sa.engine.Connection:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    with self.engine.begin() as connection:
                        for statement in VAULT_SCHEMA:
                            connection.exec_driver_sql(statement)
                        for hook in self._setup_hooks:
                            hook(connection)
                    os.chmod(self.path, 0o600)
                    self._ready = True
        return self.engine.connect()

    # keys

    def key_for(self, scope: str, start: int, length: int) -> tuple[int, AESGCM]:
        """The key of an epoch, made on first use (any process may make it; one wins)."""
        wanted = (scope, start, length)
        kid = self._by_epoch.get(wanted)
        cached = self._ciphers.get(kid) if kid is not None else None
        if kid is not None and cached is not None:
            # Even past its epoch's end (text that expired before it was written): if
            # another process destroyed it meanwhile, that text was due for deletion.
            return kid, cached[0]
        with self.connect() as connection:
            connection.exec_driver_sql(
                "INSERT OR IGNORE INTO seal_keys (scope, start, length, key) VALUES (?, ?, ?, ?)",
                (scope, start, length, AESGCM.generate_key(bit_length=256)),
            )
            kid, key = connection.exec_driver_sql(
                "SELECT id, key FROM seal_keys WHERE scope = ? AND start = ? AND length = ?",
                (scope, start, length),
            ).one()
            connection.commit()
        cipher = AESGCM(bytes(key))
        with self._lock:
            self._by_epoch[wanted] = kid
            self._ciphers[kid] = (cipher, start + length if length else None)
        return kid, cipher

    def _cipher(self, kid: int, writing: bool = False) -> AESGCM | None:
        cached = self._ciphers.get(kid)
        if cached is not None:
            cipher, end = cached
            if writing or end is None or end > clock.now().timestamp():
                return cipher
            # Its epoch is over: another process may have destroyed it. Ask the file.
            self._forget([kid])
        with self.connect() as connection:
            row = connection.exec_driver_sql(
                "SELECT key, start, length FROM seal_keys WHERE id = ?", (kid,)
            ).first()
        if row is None:
            return None
        key, start, length = row
        cipher = AESGCM(bytes(key))
        end = start + length if length else None
        if end is None or end > clock.now().timestamp():
            with self._lock:
                self._ciphers[kid] = (cipher, end)
        return cipher

    def _forget(self, kids: Iterable[int]) -> None:
        gone = set(kids)
        with self._lock:
            for kid in gone:
                self._ciphers.pop(kid, None)
            for epoch, kid in list(self._by_epoch.items()):
                if kid in gone:
                    del self._by_epoch[epoch]

    def destroy_ended(self, now: datetime) -> int:
        """Destroy every key whose epoch is over; zero it on disk. Returns how many."""
        stamp = int(now.timestamp())
        with self.connect() as connection:
            kids = [
                row[0]
                for row in connection.exec_driver_sql(
                    "SELECT id FROM seal_keys WHERE length > 0 AND start + length <= ?", (stamp,)
                )
            ]
            if kids:
                connection.exec_driver_sql(
                    "DELETE FROM seal_keys WHERE length > 0 AND start + length <= ?", (stamp,)
                )
            connection.commit()
        # This process's cache too (other processes drop theirs at their own sweep, and
        # never use a key past its epoch's end without asking the file).
        with self._lock:
            ended = [kid for kid, (_c, end) in self._ciphers.items() if end and end <= stamp]
        self._forget([*kids, *ended])
        if kids:
            self.checkpoint()
        return len(kids)

    def checkpoint(self) -> bool:
        return disk.checkpoint(self.engine)

    def key_count(self) -> int:
        with self.connect() as connection:
            return int(connection.exec_driver_sql("SELECT count(*) FROM seal_keys").scalar_one())

    # sealing

    def seal(self, text: str, kid: int) -> str:
        cipher = self._cipher(kid, writing=True)
        if cipher is None:
            # The epoch's key is gone: the row expired before it was written. Store
            # nothing readable; the next sweep deletes the row.
            return SHREDDED
        nonce = os.urandom(12)
        box = cipher.encrypt(nonce, text.encode("utf-8"), _aad(kid))
        return f"{MAGIC}{kid}.{base64.b64encode(nonce + box).decode('ascii')}."

    def open(self, stored: str) -> SealedStr | str:
        if not stored.startswith(MAGIC):
            return stored  # plain text written before migrations 0013-0015 sealed it
        try:
            kid_text, payload, end = stored[len(MAGIC) :].split(".")
            kid = int(kid_text)
            raw = binascii.a2b_base64(payload, strict_mode=True)
            if end:
                raise ValueError(end)
        except (ValueError, binascii.Error):
            log.error("a sealed value is malformed")
            return SHREDDED
        cipher = self._cipher(kid)
        if cipher is None:
            return SHREDDED
        try:
            text = cipher.decrypt(raw[:12], raw[12:], _aad(kid)).decode("utf-8")
        except InvalidTag:
            log.error("a sealed value does not open with its key")
            return SHREDDED
        return SealedStr(text, kid)


def _aad(kid: int) -> bytes:
    return f"rb1.{kid}".encode("ascii")


def vault() -> Vault:
    return current_app.extensions["rb_vault"]


def default_path(app: Flask) -> Path:
    """Beside an SQLite database (``x.db`` -> ``x.vault.db``), else ``instance/vault.db``."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.stem + ".vault.db")
    return Path(app.instance_path) / "vault.db"


def init_app(app: Flask) -> None:
    path = app.config.get("RB_VAULT_PATH") or default_path(app)
    app.config["RB_VAULT_PATH"] = str(path)
    app.extensions["rb_vault"] = Vault(path)


# --- The column type and the flush hook -----------------------------------------------------


class SealedText(TypeDecorator[str]):
    """A text column stored sealed. Values are plain ``str`` in Python.

    ``length``: the plain text's limit, which ``clean()`` enforces. PostgreSQL stores
    the longer sealed form in ``text``; on SQLite, which never enforces a declared
    length, the column keeps its ``VARCHAR(length)`` (changing an SQLite column's type
    means rebuilding the table, whose DROP would cascade into its children).
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__()
        self.length = length

    def load_dialect_impl(self, dialect: Any) -> Any:
        # The generic types, not ``dialect.type_descriptor(...)``: psycopg's dialect adapts
        # Text to its String class, which compiles to VARCHAR, so the models would say
        # VARCHAR where the migrations made TEXT (and autogenerate would "fix" them).
        if dialect.name == "sqlite" and self.length is not None:
            return sa.String(self.length)
        return sa.Text()

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, SealedStr):
            return vault().seal(str(value), value.key_id)
        if value == SHREDDED or value.startswith(MAGIC):
            return value
        raise ValueError(
            "plain text for a sealed column: write it through the ORM "
            "(or forum.sealed.seal_for), so it is encrypted under its epoch's key"
        )

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return vault().open(value)

    def compare_values(self, x: Any, y: Any) -> bool:
        # Same text under another key is a change: it must be written again.
        return x == y and getattr(x, "key_id", None) == getattr(y, "key_id", None)


def sealed_columns(model: Any) -> list[str]:
    mapper = sa.inspect(model)
    return [
        attr.key
        for attr in mapper.column_attrs
        if any(isinstance(column.type, SealedText) for column in attr.columns)
    ]


def _epoch_spec(model: type) -> Epoch | None:
    return getattr(model, "__sealed__", None)


def key_id_for(obj: Any) -> int:
    spec = _epoch_spec(type(obj))
    if spec is None:
        raise TypeError(f"{type(obj).__name__} has no sealed columns")
    kid, _cipher = vault().key_for(*epoch_of(spec, obj))
    return kid


def seal_object(obj: Any) -> bool:
    """Wrap each sealed value of ``obj`` for its current epoch. True if one changed."""
    names = sealed_columns(type(obj))
    kid: int | None = None
    changed = False
    for name in names:
        value = getattr(obj, name)
        if value is None or value == SHREDDED:
            continue
        if kid is None:
            kid = key_id_for(obj)
        if getattr(value, "key_id", None) != kid:
            setattr(obj, name, SealedStr(str(value), kid))
            changed = True
    return changed


def key_id_of(model: type, **row: Any) -> int:
    """The key a row of ``model`` with these column values (its scope and expiry) is
    sealed under. A Core insert wraps its texts in ``SealedStr(text, key_id_of(...))``
    and the column type seals them, as the flush hook would have."""
    spec = _epoch_spec(model)
    if spec is None:
        raise TypeError(f"{model.__name__} has no sealed columns")
    kid, _cipher = vault().key_for(*epoch_of(spec, SimpleNamespace(**row)))
    return kid


def seal_for(model: type, text: str, **row: Any) -> str:
    """The stored form of ``text`` for a row of ``model`` with these column values
    (for Core inserts, which bypass the flush hook)."""
    spec = _epoch_spec(model)
    if spec is None:
        raise TypeError(f"{model.__name__} has no sealed columns")

    class _Row:
        pass

    probe = _Row()
    for name, value in row.items():
        setattr(probe, name, value)
    kid, _cipher = vault().key_for(*epoch_of(spec, probe))
    return vault().seal(text, kid)


def reseal(model: type, where: sa.ColumnElement[bool], chunk: int = 500) -> int:
    """Re-encrypt rows whose expiry a bulk UPDATE moved (no commit). Returns rows changed.

    Loads matching rows fresh (the UPDATE bypassed the session) and moves each sealed
    value to its epoch's key when it is not there already.
    """
    if _epoch_spec(model) is None:
        return 0
    changed = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            sa.select(model)
            .where(where, model.id > last_id)
            .order_by(model.id)
            .limit(chunk)
            .execution_options(populate_existing=True)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        for row in rows:
            changed += seal_object(row)
        db.session.flush()
    return changed


@sa.event.listens_for(so.Session, "before_flush")
def _seal_before_flush(session: so.Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        if _epoch_spec(type(obj)) is not None:
            seal_object(obj)


# --- Migrations: rows written before sealing ------------------------------------------------


def _plain_table(table: str, columns: Sequence[str], epoch: Epoch) -> sa.TableClause:
    return sa.table(
        table,
        sa.column("id", sa.Integer),
        sa.column(epoch.scope, sa.Integer),
        sa.column(epoch.expires, UTCDateTime()),
        *(sa.column(name, sa.Text) for name in columns),
    )


def seal_existing(
    connection: sa.Connection, table: str, columns: Sequence[str], epoch: Epoch, chunk: int = 500
) -> int:
    """Encrypt the plain values already in ``table`` (a migration's step). Returns values sealed."""
    t = _plain_table(table, columns, epoch)
    box = vault()
    sealed_count = 0
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(t).where(t.c.id > last_id).order_by(t.c.id).limit(chunk)
        ).all()
        if not rows:
            return sealed_count
        last_id = rows[-1].id
        for row in rows:
            values = {}
            for name in columns:
                value = getattr(row, name)
                if value is None or value == SHREDDED or value.startswith(MAGIC):
                    continue
                kid, _cipher = box.key_for(*epoch_of(epoch, row))
                values[name] = box.seal(value, kid)
            if values:
                connection.execute(sa.update(t).where(t.c.id == row.id).values(**values))
                sealed_count += len(values)


def unseal_existing(
    connection: sa.Connection, table: str, columns: Sequence[str], epoch: Epoch, chunk: int = 500
) -> None:
    """The reverse, for a downgrade: plain values again (what a shredded key hid stays empty)."""
    t = _plain_table(table, columns, epoch)
    box = vault()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(t).where(t.c.id > last_id).order_by(t.c.id).limit(chunk)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        for row in rows:
            values = {
                name: str(box.open(getattr(row, name)))
                for name in columns
                if getattr(row, name) and getattr(row, name).startswith(MAGIC)
            }
            if values:
                connection.execute(sa.update(t).where(t.c.id == row.id).values(**values))
