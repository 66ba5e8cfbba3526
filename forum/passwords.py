"""Passphrase policy and argon2id hashing.

- :func:`check_passphrase` applies the policy to a new passphrase (raises ``Invalid``).
- :func:`hash_passphrase`, :func:`verify_passphrase` and :func:`needs_rehash` wrap one
  module-level :class:`argon2.PasswordHasher`, built from the cost constants below or
  from the app's ``ARGON2_*`` config keys by :func:`init_app`.

Passphrases are NFKC-normalised before hashing (as NIST SP 800-63B suggests), so the
same passphrase typed on two keyboards that compose accents differently still matches.
Stored hashes depend on that: do not change it without a plan for existing hashes.
"""

from __future__ import annotations

import functools
import re
import threading
import typing as t
import unicodedata
from collections.abc import Callable
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from argon2.exceptions import InvalidHashError
from flask_babel import gettext as _

from forum import greenlets
from forum import text
from forum.errors import Invalid

T = t.TypeVar("T")

if t.TYPE_CHECKING:
    from flask import Flask

MIN_LENGTH = 10
# An upper bound keeps a megabyte "passphrase" from costing CPU and memory; 1,024
# characters is far beyond any passphrase a person types or a manager generates.
MAX_LENGTH = 1024

# argon2id costs: RFC 9106's second recommended option (t=3, 64 MiB; argon2-cffi's
# default too), well above OWASP's minimum (19 MiB, t=2, p=1). One lane instead of the
# RFC's four because each server process runs one event loop and hashes one passphrase
# at a time: extra lanes would only compete with the other processes for the cores.
# Measured on the development machine: about 0.3 s and 64 MiB per hash, during which
# the hashing process does nothing else.
TIME_COST = 3  # passes over memory
MEMORY_COST = 64 * 1024  # KiB, i.e. 64 MiB
PARALLELISM = 1  # lanes (threads)

# At most this many argon2 calls at once in a process; the others wait their turn. Each
# holds ``MEMORY_COST`` while it runs, so a burst of logins costs at most
# CONCURRENT_HASHES x 64 MiB instead of one hash's memory per waiting request (eventlet's
# thread pool alone would run 20 at once: 1.3 GB). Two: the machine's cores.
CONCURRENT_HASHES = 2

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST, parallelism=PARALLELISM)
# A green semaphore under eventlet/gevent (the entry points patch threading first).
_slots = threading.BoundedSemaphore(CONCURRENT_HASHES)
_slot_count = CONCURRENT_HASHES

# Trailing (or leading) digits, punctuation and spaces don't make a common password
# uncommon: "password123!" is "password".
_TRAILING_NOISE = re.compile(r"[\W\d_]+$")
_LEADING_NOISE = re.compile(r"^[\W\d_]+")
# "aaaaaaaaaa", "abababababab", "abcabcabcabc": a short unit, repeated.
_REPEATED_UNIT = re.compile(r"(.{1,4}?)\1+", re.DOTALL)
# Shorter bases ("abc" of "abc123") would refuse too much random-looking text.
_MIN_BASE = 4


def check_passphrase(p: object, *, alias: str | None = None) -> str:
    """Return ``p`` unchanged if it is acceptable as a new passphrase, else raise Invalid."""
    if not isinstance(p, str):
        raise Invalid(_("Please type a passphrase."))
    # Length first: nothing below (and no hashing) runs on a huge string.
    if len(p) < MIN_LENGTH:
        raise Invalid(
            _(
                "Your passphrase needs at least %(min_length)s characters. A few words work well.",
                min_length=MIN_LENGTH,
            )
        )
    if len(p) > MAX_LENGTH:
        raise Invalid(
            _(
                "Your passphrase can be at most %(max_length)s characters long.",
                max_length=f"{MAX_LENGTH:,}",
            )
        )
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(
            _("Your passphrase contains a character we can't store. Please type it again.")
        ) from None
    # The one text check, as at login (forum/accounts.py): what is set here can be typed there.
    text.clean(p, _("passphrase"), MAX_LENGTH, multiline=True, verbatim=True)
    folded = _fold(p)
    if _REPEATED_UNIT.fullmatch(folded):
        raise Invalid(
            _(
                "Your passphrase is one short pattern repeated. "
                "Please choose something less predictable."
            )
        )
    if alias and _fold(alias) in folded:
        raise Invalid(_("Your passphrase must not contain your alias."))
    if is_common(p):
        raise Invalid(
            _(
                "That passphrase is one of the most common ones, so it would be guessed quickly. "
                "Please choose another: a few unrelated words work well."
            )
        )
    return p


def is_common(p: str) -> bool:
    """True if ``p``, ignoring case and surrounding digits/punctuation, is a common password."""
    folded = _fold(p)
    trailing = _TRAILING_NOISE.sub("", folded)
    both = _LEADING_NOISE.sub("", trailing)
    common = _common_passwords()
    return folded in common or trailing in common or both in common


def hash_passphrase(p: str) -> str:
    """Return the argon2id hash of ``p`` (after NFKC) with the configured costs."""
    if len(p) > MAX_LENGTH:  # callers check first; this guards against a forgotten check
        raise ValueError("passphrase too long to hash")
    return _off_loop(_hasher.hash, _prepare(p))


def verify_passphrase(stored_hash: str, p: str) -> bool:
    """True if ``p`` matches ``stored_hash``. False on mismatch or any bad input; never raises."""
    if not isinstance(stored_hash, str) or not isinstance(p, str) or len(p) > MAX_LENGTH:
        return False
    try:
        return _off_loop(_hasher.verify, stored_hash, _prepare(p))
    except (Argon2Error, InvalidHashError, ValueError, TypeError):
        # Mismatch, malformed hash, or text that can't be encoded (lone surrogates).
        return False


def _off_loop(fn: Callable[..., T], *args: object) -> T:
    """Run a 0.3 s argon2 call on a real OS thread when the process is green-threaded.

    Under eventlet or gevent a CPU-bound call on the hub's thread freezes every
    other connection (live chat included) for its whole duration. At most
    ``CONCURRENT_HASHES`` run at once, whatever the mode: memory stays bounded.
    """
    with _slots:
        return _run(fn, *args)


def _run(fn: Callable[..., T], *args: object) -> T:
    library = greenlets.patched_by()
    if library == "eventlet":
        from eventlet import tpool

        return tpool.execute(fn, *args)
    if library == "gevent":
        import gevent

        # gevent's threadpool prints an exception raised in its thread (traceback and
        # all) before handing it back, and argon2's verify raises on every mismatch:
        # caught there, raised here.
        done, value = gevent.get_hub().threadpool.apply(_caught, (fn, args))
        if not done:
            raise value
        return value
    return fn(*args)


def _caught(fn: Callable[..., T], args: tuple) -> tuple[bool, t.Any]:
    try:
        return True, fn(*args)
    except Exception as error:  # handed to the caller, which raises it
        return False, error


def needs_rehash(stored_hash: str) -> bool:
    """True if ``stored_hash`` was made with other costs (or is unreadable): hash again at login."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError, TypeError):
        return True


def configure(
    *,
    time_cost: int = TIME_COST,
    memory_cost: int = MEMORY_COST,
    parallelism: int = PARALLELISM,
    concurrency: int = CONCURRENT_HASHES,
) -> None:
    """Replace the hasher's costs (for the whole process). No arguments: the defaults."""
    global _hasher, _slots, _slot_count
    for name, value in (
        ("time_cost", time_cost),
        ("memory_cost", memory_cost),
        ("parallelism", parallelism),
        ("concurrency", concurrency),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"argon2 {name} must be a positive whole number, not {value!r}")
    if memory_cost < 8 * parallelism:
        raise ValueError("argon2 memory_cost must be at least 8 KiB per lane of parallelism")
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    if concurrency != _slot_count:  # a hash in flight keeps the semaphore it took
        _slots, _slot_count = threading.BoundedSemaphore(concurrency), concurrency


def init_app(app: Flask) -> None:
    """Set hashing costs from ``ARGON2_TIME_COST``, ``ARGON2_MEMORY_COST`` (KiB) and
    ``ARGON2_PARALLELISM``, and how many hashes run at once from ``ARGON2_CONCURRENCY``;
    a missing key means the constant above.
    """
    configure(
        time_cost=_config_int(app, "ARGON2_TIME_COST", TIME_COST),
        memory_cost=_config_int(app, "ARGON2_MEMORY_COST", MEMORY_COST),
        parallelism=_config_int(app, "ARGON2_PARALLELISM", PARALLELISM),
        concurrency=_config_int(app, "ARGON2_CONCURRENCY", CONCURRENT_HASHES),
    )


def _config_int(app: Flask, key: str, default: int) -> int:
    value = app.config.get(key, default)
    try:
        return int(value)  # values from the environment arrive as strings
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a whole number, not {value!r}") from None


def _prepare(p: str) -> str:
    return unicodedata.normalize("NFKC", p)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The shipped list, plus each entry's base without surrounding digits/punctuation."""
    text = resources.files("forum").joinpath("data/common-passwords.txt").read_text("utf-8")
    entries = {
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    }
    bases = {_LEADING_NOISE.sub("", _TRAILING_NOISE.sub("", entry)) for entry in entries}
    return frozenset(entries | {base for base in bases if len(base) >= _MIN_BASE})
