"""The application factory: the one place that knows every package."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import g

import moderation
import realtime
from forum import cli
from forum import discreet
from forum import disk
from forum import expiry
from forum import fixed
from forum import greenlets
from forum import header
from forum import i18n
from forum import markdown
from forum import passwords
from forum import ratelimit
from forum import safety
from forum import sealed
from forum import search
from forum import security
from forum import sessions
from forum import templating
from forum import views
from forum import weight
from forum.extensions import babel
from forum.extensions import csrf
from forum.extensions import db
from forum.extensions import limiter
from forum.extensions import migrate
from forum.extensions import socketio
from forum.views import converters

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` (tests) overrides the environment-derived defaults."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("RB_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.jinja_environment = templating.Environment  # before anything makes app.jinja_env
    app.config.from_object("forum.config.Config")
    if config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(config)
    _finish_config(app)
    _quiet_logs(app)
    app.session_interface = sessions.PagesOnlyCookie()

    passwords.init_app(app)
    db.init_app(app)
    greenlets.init_app(app)  # after db: the event slots are sized from its pool
    sealed.init_app(app)  # the key vault: sealed columns read and write through it
    app.extensions["rb_vault"].on_setup(search.setup_index)  # search's index lives there too
    migrate.init_app(
        app, db, directory=str(MIGRATIONS), render_as_batch=True, include_name=search.include_name
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.pick_locale, timezone_selector=i18n.pick_time_zone)
    i18n.init_app(app)
    limiter.init_app(app)
    _init_redis(app)
    _init_socketio(app)

    app.before_request(discreet.just_left)
    app.before_request(sessions.load_current_session)
    app.after_request(sessions.write_cookie)
    app.after_request(discreet.write_cookie)
    app.after_request(security.secure_headers)
    weight.init_app(app)
    app.context_processor(_template_globals)
    header.init_app(app)  # before safety and moderation add their values
    app.jinja_env.add_extension(fixed.FixedParts)
    app.jinja_env.globals["render_markdown"] = markdown.render
    expiry.init_app(app)
    # Before any route exists: every <int:...> and <slug> in every blueprint uses these.
    app.url_map.converters.update(converters.CONVERTERS)
    safety.init_app(app)
    views.register(app)
    # Then the packages above forum, each plugging itself in (forum imports neither).
    moderation.init_app(app)
    realtime.init_app(app)
    cli.init_app(app)
    return app


def server_started(app: Flask) -> None:
    """Run once when a server process starts (``python -m forum``, each gunicorn worker),
    never for CLI commands: the hooks packages registered in ``app.extensions``, then the
    start-up's objects leave the garbage collector's full collections (a pause of the
    whole hub otherwise: ``greenlets.freeze_start_up_heap``), and the young collections
    come less often (``greenlets.collect_less_often``)."""
    with app.app_context():
        for hook in app.extensions.get("rb_start_hooks", []):
            hook()
    greenlets.freeze_start_up_heap()
    greenlets.collect_less_often()


def _finish_config(app: Flask) -> None:
    production = app.config["RB_ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production Red Brolly refuses to start without it: "
                "set SECRET_KEY in the environment to a long random string, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        app.config["SECRET_KEY"] = _dev_secret(Path(app.instance_path))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "redbrolly.db"
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    _pool_options(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg"):
        greenlets.green_psycopg()  # under eventlet, a query must not hold the whole process
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The newest SQLite at hand (forum/disk.py): FTS5 secure-delete needs 3.42+.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("module", disk.sqlite_module())
        level = str(app.config["RB_SQLITE_SYNCHRONOUS"]).upper()
        if level not in disk.SYNCHRONOUS_LEVELS:
            raise ConfigError(f"RB_SQLITE_SYNCHRONOUS must be FULL or NORMAL, not {level!r}")
        disk.synchronous = level
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    origin = app.config["RB_PUBLIC_ORIGIN"]
    app.config["SESSION_COOKIE_SECURE"] = origin.startswith("https://")
    app.config["PREFERRED_URL_SCHEME"] = "https" if origin.startswith("https://") else "http"
    # Redis when there is one, else this process's memory without limits' per-gap timer
    # thread (forum/ratelimit.py QuietMemoryStorage).
    app.config["RATELIMIT_STORAGE_URI"] = ratelimit.storage_uri(
        app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"
    )
    app.config["RATELIMIT_ENABLED"] = app.config["RB_LIMITS_ENABLED"]


def _pool_options(app: Flask) -> None:
    """``RB_DB_POOL_SIZE``, ``RB_DB_MAX_OVERFLOW``, ``RB_DB_POOL_TIMEOUT``: the connection
    pool, when set (unset: SQLAlchemy's 5 + 10, 30 s). An in-memory SQLite database keeps
    its one-connection pool."""
    if app.config["SQLALCHEMY_DATABASE_URI"] in ("sqlite://", "sqlite:///:memory:"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    for key, option, unset in (
        ("RB_DB_POOL_SIZE", "pool_size", 0),
        ("RB_DB_MAX_OVERFLOW", "max_overflow", -1),
        ("RB_DB_POOL_TIMEOUT", "pool_timeout", 0),
    ):
        value = app.config.get(key, unset)
        if value != unset:
            if value < 0 or (value == 0 and option != "max_overflow"):
                raise ConfigError(f"{key} must be a positive whole number, not {value!r}")
            options.setdefault(option, value)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def normalise_db_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3 here."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _dev_secret(instance: Path) -> str:
    """Development only: make a secret once and keep it in instance/ (mode 0600)."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def _quiet_logs(app: Flask) -> None:
    """No access log anywhere: an access line is a client address on disk."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("engineio.server").setLevel(logging.ERROR)
    logging.getLogger("socketio.server").setLevel(logging.ERROR)
    logging.getLogger("flask-limiter").setLevel(logging.ERROR)


def _init_redis(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        import redis  # optional: only when scaling out

        app.extensions["rb_redis"] = redis.Redis.from_url(url)


def effective_async_mode(wanted: str) -> str:
    """Use eventlet/gevent only when the process was patched for it (the entry points do).

    ``flask --app forum init-db`` and the tests are not patched, and then
    threading is the only mode that works.
    """
    if wanted in ("eventlet", "gevent"):
        return wanted if greenlets.patched_by() == wanted else "threading"
    return wanted


def _init_socketio(app: Flask) -> None:
    mode = effective_async_mode(app.config["RB_ASYNC_MODE"])
    app.config["RB_ASYNC_MODE_IN_USE"] = mode
    # Flask-SocketIO keeps the queue manager of an earlier init_app in server_options;
    # without this, an app built after one with REDIS_URL would still use that queue.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(
        app,
        async_mode=mode,
        message_queue=app.config.get("REDIS_URL"),
        channel=app.config["RB_SOCKETIO_CHANNEL"],
        # Never "*": a foreign page could connect with the victim's cookie (docs/STACK_FACTS.md).
        cors_allowed_origins=[app.config["RB_PUBLIC_ORIGIN"]],
        manage_session=False,
        logger=False,
        engineio_logger=False,
        # What the app needs: the longest chat message (2,000 characters, 12 bytes each
        # when escaped as a surrogate pair) plus its envelope is under 32 KiB. Anything
        # bigger closes that connection before it is buffered (tests/test_socket_abuse_live.py).
        max_http_buffer_size=64 * 1024,
    )


def _template_globals() -> dict[str, Any]:
    account = g.get("account")
    return {
        "current_account": account,
        "discreet": discreet.active(account),
        # Title, icon and manifest: neutral until this device chooses the full look.
        "neutral_head": discreet.neutral_head(account),
        "look_chosen": discreet.chosen_on_this_device(),
    }


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection: WAL, foreign keys, and deletion that reaches the disk."""
    if not isinstance(dbapi_connection, disk.connection_types()):
        return
    cursor = dbapi_connection.cursor()
    # First: the pragmas below take locks too. Processes sharing a file (the key vault,
    # the sweepers) opening it at once got "database is locked" from journal_mode at once.
    cursor.execute(f"PRAGMA busy_timeout={disk.BUSY_TIMEOUT_MS}")
    disk.use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA temp_store=MEMORY")
    # FULL unless configured: each commit syncs the WAL before it returns. A chat message's
    # transaction alone runs at NORMAL (disk.no_fsync_on_sqlite): its ack survives a killed
    # process, not a power cut (docs/REALTIME.md, "When an ack means stored").
    cursor.execute(f"PRAGMA synchronous={disk.synchronous}")
    # Builds differ in their defaults (docs/STACK_FACTS.md); refuse to run if one did not stick.
    if cursor.execute("PRAGMA secure_delete").fetchone()[0] != 1:
        raise RuntimeError("SQLite refused secure_delete=ON; deleted text would stay on disk")
    if cursor.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
        raise RuntimeError("SQLite refused foreign_keys=ON")
    # PERSIST (or a memory/off journal) would leave old page images behind or risk the file.
    mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if mode != "wal" and cursor.execute("PRAGMA database_list").fetchone()[2]:
        raise RuntimeError(f"SQLite journal_mode is {mode!r}, not WAL; refusing to run")
    if cursor.execute("PRAGMA temp_store").fetchone()[0] != 2:
        raise RuntimeError(
            "SQLite refused temp_store=MEMORY; temporary copies would reach the disk"
        )
    if not disk.has_fts5_secure_delete(dbapi_connection) and _fts5_secure_delete_set(cursor):
        # An older SQLite cannot read an index written with secure-delete (format 5).
        raise RuntimeError(
            "This database's search index uses FTS5 secure-delete, "
            "which needs SQLite 3.42 or newer; "
            "this Python links SQLite "
            + ".".join(map(str, disk.version_of(dbapi_connection)))
            + ". Install the app's dependencies (pip install -e .) to get pysqlite3-binary."
        )
    cursor.close()


def _fts5_secure_delete_set(cursor: Any) -> bool:
    """An FTS5 index here was written with secure-delete: the vault's search index
    (``search_fts``), or a database's from before migration 0014 (``posts_fts``)."""
    for table in ("search_fts", "posts_fts"):
        has_config = cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (f"{table}_config",)
        ).fetchone()
        if has_config:
            row = cursor.execute(
                f"SELECT v FROM {table}_config WHERE k = 'secure-delete'"  # nosec B608: names are constants above
            ).fetchone()
            if row and row[0]:
                return True
    return False
