"""Configuration defaults, and the environment variables read in one place.

| variable            | default                         | meaning                                       |
|---------------------|---------------------------------|-----------------------------------------------|
| SECRET_KEY          | generated into instance/ in dev | signs CSRF tokens; required in production     |
| DATABASE_URL        | sqlite:///instance/redbrolly.db | SQLAlchemy URL (postgresql+psycopg://...)     |
| REDIS_URL           | (none)                          | Socket.IO message queue + rate-limit storage  |
| RB_LIMIT_KEY_PREFIX | rb                              | prefix of the rate-limit counters in Redis: the processes of one deployment share it; deployments sharing one Redis need their own (as RB_SOCKETIO_CHANNEL), or one's counters refuse the other's members |
| RB_ENV              | development                     | ``production`` refuses to start without SECRET_KEY |
| RB_PUBLIC_ORIGIN    | http://127.0.0.1:5000           | origin users reach; Origin checks, Secure cookies |
| RB_SESSION_IDLE_DAYS| 7                               | sign-out after this many days without activity, counted from the start (UTC) of the day of last use |
| RB_SESSION_MAX_DAYS | 30                              | sign-out this many days after the day of login, active or not |
| RB_ASYNC_MODE       | gevent (threading in tests)     | Flask-SocketIO async mode: gevent or eventlet for a server, both tested (why gevent: deploy/README.md); threading for tests |
| RB_ADDRESS_HEADER   | (none)                          | header holding the client address set by nginx; used only, hashed, for rate limits |
| RB_LIMIT_CHAT      | 10 per 10 seconds               | chat messages per name at trust level 1 (RB_LIMIT_CHAT_NEW: 5 per 10 s, level 0; RB_LIMIT_CHAT_TRUSTED: 20 per 10 s, level 2; see moderation/trust.py) |
| RB_VAULT_PATH       | beside an SQLite database (x.vault.db), else instance/vault.db | the key vault and search index (forum/sealed.py): a local SQLite file every process of the deployment shares; never back it up for longer than the shortest retention (docs/EXPIRY.md) |
| RB_SOCKET_RATE     | 10                              | Socket.IO events a second per connection, in bursts of RB_SOCKET_BURST (40); past it an immediate 429 ack (realtime/throttle.py) |
| RB_IDENTIFIER_KEY   | generated into instance/ in dev | HMAC key for identifiers in bad-date reports; required in production; keep it out of database backups (forum/safety/identifiers.py) |
| RB_LIMIT_LOOKUP     | 30 per hour                     | "check before you meet" lookups per account |
| RB_DEFAULT_REGION   | GB                              | country for phone numbers typed without a code, in spaces that did not choose one |
| RB_CHECKIN_INTERVAL | 5                               | seconds between check-in timer rounds per process; 0 = off |
| RB_QUICK_EXIT_URL   | https://www.bbc.com/weather     | where the quick-exit button goes              |
| RB_SWEEP_INTERVAL   | 60                              | seconds between expiry sweeps in the server; 0 = off |
| RB_MAX_CONNECTIONS  | 10000                           | connections one server process serves at once (gunicorn's worker_connections; eventlet's own server defaults to 1,024, gevent's has no cap); needs as many file descriptors |
| RB_SQLITE_SYNCHRONOUS | FULL                          | SQLite only: FULL syncs every commit (an acknowledged message survives a power loss); NORMAL syncs at checkpoints (survives a killed process, may lose the last commits on a power loss); see docs/PERFORMANCE.md |
| RB_DB_POOL_SIZE / RB_DB_MAX_OVERFLOW / RB_DB_POOL_TIMEOUT | SQLAlchemy's 5 / 10 / 30 s | database connections a process keeps, may add under load, and how long a caller waits for one (docs/PERFORMANCE.md) |
| RB_EVENT_SLOTS      | half the pool (7)               | Socket.IO events a process handles at once; the others queue (realtime/namespace.py) |
| RB_TRACE_EVENTS     | 0                               | 1: a line on stderr as each /chat event arrives, gets its slot and is answered (event name and socket id only; realtime/namespace.py) |
| RB_PRESENCE_MS      | 1000                            | at most one chat presence update per room this often (joins and leaves in between are coalesced); 0 = one per change |
| RB_CHAT_RETENTION_MIN_HOURS | 1                       | shortest chat retention a space owner may pick |
| RB_CHAT_RETENTION_MAX_HOURS | 720 (30 days)           | longest chat retention a space owner may pick |
| RB_POST_RETENTION_MIN_DAYS  | 1                       | shortest post retention a space owner may pick |
| RB_POST_RETENTION_MAX_DAYS  | 365                     | longest post retention a space owner may pick |
| RB_APPEAL_DAYS      | 14                              | the appeal window: a member may appeal a moderator's decision this long after it; text a moderator deleted stays visible to moderators (only) this long, never past the content's own expiry, then it is deleted |
| RB_ALLOW_KEEP_POSTS | 0                               | 1 lets owners keep posts with no expiry       |
| RB_TEST_CHAT_RETENTION_SECONDS | 0 (off)              | TESTS ONLY: every chat message expires this many seconds after it is sent; ignored when RB_ENV=production |
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a typo in the environment must not start a half-configured app
        raise RuntimeError(f"{name} must be a whole number, not {raw!r}") from exc


class Config:
    """Defaults; ``create_app(config)`` overrides them with a mapping (tests do)."""

    RB_ENV = os.environ.get("RB_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # None means "an SQLite file in the instance folder", resolved by the factory.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Redis pub/sub channel for Socket.IO: processes of one deployment share it.
    RB_SOCKETIO_CHANNEL = os.environ.get("RB_SOCKETIO_CHANNEL", "redbrolly-socketio")
    # Flask-Limiter's counters in Redis, keyed by account id among others: one deployment's
    # processes share them; another deployment on the same Redis needs its own prefix.
    RATELIMIT_KEY_PREFIX = os.environ.get("RB_LIMIT_KEY_PREFIX") or "rb"
    RB_PUBLIC_ORIGIN = os.environ.get("RB_PUBLIC_ORIGIN", "http://127.0.0.1:5000").rstrip("/")
    RB_SESSION_IDLE_DAYS = _int("RB_SESSION_IDLE_DAYS", 7)
    RB_SESSION_MAX_DAYS = _int("RB_SESSION_MAX_DAYS", 30)
    RB_ASYNC_MODE = os.environ.get("RB_ASYNC_MODE", "gevent")
    RB_ADDRESS_HEADER = os.environ.get("RB_ADDRESS_HEADER") or None
    # Behind a Tor onion service every client is 127.0.0.1: limit by alias only.
    RB_LIMIT_BY_ADDRESS = os.environ.get("RB_LIMIT_BY_ADDRESS", "1") not in ("0", "false", "no")
    # The key vault (forum/sealed.py); None: beside an SQLite database, else instance/.
    RB_VAULT_PATH = os.environ.get("RB_VAULT_PATH") or None
    # Bad-date reports keep identifiers only as HMACs under this key, never in the database.
    RB_IDENTIFIER_KEY = os.environ.get("RB_IDENTIFIER_KEY") or None
    RB_LIMIT_LOOKUP = os.environ.get("RB_LIMIT_LOOKUP", "30 per hour")
    RB_DEFAULT_REGION = os.environ.get("RB_DEFAULT_REGION", "GB")
    # Seconds between rounds of the check-in timer in each server process; 0 = off.
    RB_CHECKIN_INTERVAL = _int("RB_CHECKIN_INTERVAL", 5)
    RB_QUICK_EXIT_URL = os.environ.get("RB_QUICK_EXIT_URL", "https://www.bbc.com/weather")
    # Rate limits (Flask-Limiter syntax). Per alias and per hashed client address.
    # Sign-ups: 5 an hour per alias tried; 20 an hour per hashed address. One address is
    # often many people (a drop-in centre's Wi-Fi, a phone network's shared address): a
    # group helped to sign up together in one session must fit. Floods of accounts stay
    # slow (480 a day at most from one address), and new accounts weigh little (half a
    # flag, the strictest chat rate: moderation/trust.py). docs/SECURITY.md.
    RB_LIMIT_SIGNUP = "5 per hour"
    RB_LIMIT_SIGNUP_ADDRESS = "20 per hour"
    # Logins: per alias (and per address where addresses mean something), counted before the
    # passphrase is checked: past it no argon2 runs. Recovery by code: per address only (a
    # per-alias limit would let anyone lock the owner out of their way back in; ten codes of
    # ~59 random bits each make guessing hopeless anyway). docs/SECURITY.md, "Brute force".
    RB_LIMIT_LOGIN = "10 per 15 minutes"
    RB_LIMIT_RECOVER = "5 per hour"
    RB_LIMITS_ENABLED = True
    # Chat messages per name shown, by that name's trust level (moderation/trust.py): new
    # names (level 0) get the stricter one, trusted names (level 2) the looser one.
    RB_LIMIT_CHAT = os.environ.get("RB_LIMIT_CHAT", "10 per 10 seconds")
    RB_LIMIT_CHAT_NEW = os.environ.get("RB_LIMIT_CHAT_NEW", "5 per 10 seconds")
    RB_LIMIT_CHAT_TRUSTED = os.environ.get("RB_LIMIT_CHAT_TRUSTED", "20 per 10 seconds")
    # Every Socket.IO event, per connection, before any other work (realtime/throttle.py).
    RB_SOCKET_RATE = float(os.environ.get("RB_SOCKET_RATE", "10"))
    RB_SOCKET_BURST = _int("RB_SOCKET_BURST", 40)
    # Background sweeper inside the server (seconds; 0 turns it off).
    RB_SWEEP_INTERVAL = _int("RB_SWEEP_INTERVAL", 60)
    RB_PRESENCE_MS = _int("RB_PRESENCE_MS", 1000)
    RB_MAX_CONNECTIONS = _int("RB_MAX_CONNECTIONS", 10000)
    # The database connection pool (0: SQLAlchemy's default, 5 + 10 overflow, 30 s wait),
    # and how many Socket.IO events run at once (0: half the pool): the rest queue for a
    # slot, without a connection and without a deadline (forum/greenlets.py Slots).
    RB_DB_POOL_SIZE = _int("RB_DB_POOL_SIZE", 0)
    RB_DB_MAX_OVERFLOW = _int("RB_DB_MAX_OVERFLOW", -1)
    RB_DB_POOL_TIMEOUT = _int("RB_DB_POOL_TIMEOUT", 0)
    RB_EVENT_SLOTS = _int("RB_EVENT_SLOTS", 0)
    # Diagnostics: every /chat event's arrival, slot and answer on stderr (ids only).
    RB_TRACE_EVENTS = bool(_int("RB_TRACE_EVENTS", 0))
    RB_SQLITE_SYNCHRONOUS = os.environ.get("RB_SQLITE_SYNCHRONOUS", "FULL")
    # Instance-wide bounds for each space's retention (forum/retention.py).
    RB_CHAT_RETENTION_MIN_HOURS = _int("RB_CHAT_RETENTION_MIN_HOURS", 1)
    RB_CHAT_RETENTION_MAX_HOURS = _int("RB_CHAT_RETENTION_MAX_HOURS", 30 * 24)
    RB_POST_RETENTION_MIN_DAYS = _int("RB_POST_RETENTION_MIN_DAYS", 1)
    RB_POST_RETENTION_MAX_DAYS = _int("RB_POST_RETENTION_MAX_DAYS", 365)
    # The appeal window (moderation/appeals.py): days after a moderator's action.
    RB_APPEAL_DAYS = _int("RB_APPEAL_DAYS", 14)
    RB_ALLOW_KEEP_POSTS = bool(_int("RB_ALLOW_KEEP_POSTS", 0))
    # Tests only (the browser test of messages vanishing on time): chat lives this many
    # seconds, in every space. forum/retention.py ignores it when RB_ENV is production.
    RB_TEST_CHAT_RETENTION_SECONDS = _int("RB_TEST_CHAT_RETENTION_SECONDS", 0)

    SESSION_COOKIE_NAME = "rb_csrf"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Flask-WTF's strict mode demands a same-origin Referer on https, but every page
    # sends Referrer-Policy: no-referrer, so browsers send none. The token (tied to
    # the session) and SameSite=Lax cookies carry the protection.
    WTF_CSRF_SSL_STRICT = False
    WTF_CSRF_TIME_LIMIT = (
        None  # tied to the CSRF cookie's life, not a clock: forms left open still work
    )
    MAX_CONTENT_LENGTH = 64 * 1024  # the largest form we take is a 20,000-character post
    MAX_FORM_PARTS = 200
    BABEL_DEFAULT_LOCALE = "en"
    # Narrow the languages offered (a tuple of codes); empty: every compiled catalogue (forum/i18n.py).
    RB_LANGUAGES: tuple[str, ...] = ()
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # argon2id cost: only when set in the environment; otherwise forum/passwords.py's
    # written-down defaults apply.
    # ARGON2_CONCURRENCY: how many hashes a process runs at once (memory bound; docs/SECURITY.md).
    for _name in (
        "ARGON2_TIME_COST",
        "ARGON2_MEMORY_COST",
        "ARGON2_PARALLELISM",
        "ARGON2_CONCURRENCY",
    ):
        if os.environ.get(_name):
            locals()[_name] = _int(_name, 0)
    del _name
