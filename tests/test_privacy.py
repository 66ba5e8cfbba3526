"""The privacy baseline: nothing stores or logs an address or a user agent; strict headers."""

from __future__ import annotations

import logging
import re

import pytest
import requests
from flask import Blueprint

from forum.extensions import db
from tests.live import BOTH_MODES
from tests.live import live_database
from tests.live import start_server
from tests.support import ASKED
from tests.support import CSRF_RE
from tests.support import PASSPHRASE
from tests.support import disk_bytes
from tests.support import login
from tests.support import post
from tests.support import shown_codes

ADDRESS = "203.0.113.77"
AGENT = "EvilAgent/9.9 (tracking-me)"
FORBIDDEN_COLUMNS = re.compile(
    r"(e_?mail|phone|mobile|legal|real_?name|first_?name|last_?name|birth|dob|\bip\b|ip_?addr|"
    r"remote_?addr|address|user_?agent|device|fingerprint|location|geo)",
    re.IGNORECASE,
)


def test_no_table_has_a_column_for_identity_or_address():
    offenders = [
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
        if FORBIDDEN_COLUMNS.search(column.name)
    ]
    assert db.metadata.sorted_tables, "metadata is empty: the check would prove nothing"
    assert offenders == []


def test_no_address_or_agent_reaches_logs_or_database(app, client, make_account, caplog):
    caplog.set_level(logging.DEBUG)
    env = {"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT}
    make_account("Nadia")
    post(client, "/login", {"alias": "Nadia", "passphrase": "wrong wrong wrong"}, environ_base=env)
    login(client, "Nadia")
    for path in ("/", "/account", "/nowhere", "/signup"):
        client.get(path, environ_base=env)
    post(client, "/logout", environ_base=env)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert ADDRESS not in text and "EvilAgent" not in text
    db.session.commit()
    db.engine.dispose()
    blob = disk_bytes()  # the files (PostgreSQL: every row), the vault, sealed values opened
    assert b"Nadia" in blob  # positive control: the scan does read the database
    assert ADDRESS.encode() not in blob and b"EvilAgent" not in blob


def test_error_pages_show_no_address_or_agent(app, client):
    boom = Blueprint("boom", __name__)

    @boom.get("/boom")
    def explode():
        raise RuntimeError("kaboom " + ADDRESS)

    app.register_blueprint(boom)
    response = client.get("/boom", environ_base={"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": AGENT})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert ADDRESS not in body and "EvilAgent" not in body and "Traceback" not in body


@pytest.mark.parametrize("path", ["/", "/signup", "/login", "/nowhere", "/static/css/site.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    perms = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in perms
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests


def test_hsts_when_served_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_signed_in_pages_are_not_cached(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    for path in ("/", "/account", "/nowhere"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(client, make_account):
    make_account("Nadia")
    cookie = login(client, "Nadia").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http origin in tests; https origins set Secure (below)


@pytest.mark.parametrize("app_config", [{"RB_PUBLIC_ORIGIN": "https://brolly.example"}])
def test_session_cookie_is_secure_behind_https(client, make_account, app_config):
    make_account("Nadia")
    cookie = login(client, "Nadia", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_pages_load_nothing_from_another_host(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    for path in ("/", "/account", "/signup", "/login", "/recover", "/nowhere"):
        page = client.get(path).get_data(as_text=True)
        for url in re.findall(r'(?:src|href)="([^"]+)"', page):
            if url.startswith(("http://", "https://", "//")):
                # Only plain links out (the quick-exit target) may name another host, never assets.
                assert re.search(rf'<a [^>]*href="{re.escape(url)}"', page), url
        assert "<link" not in page or all(
            not u.startswith(("http", "//")) for u in re.findall(r'<link [^>]*href="([^"]+)"', page)
        )


def test_production_refuses_to_start_without_secret_key(tmp_path):
    from forum.app import ConfigError
    from forum.app import create_app

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(
            {
                "RB_ENV": "production",
                "SECRET_KEY": None,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            }
        )


def test_development_keeps_a_generated_secret(tmp_path, monkeypatch):
    from forum.app import create_app

    monkeypatch.setenv("RB_INSTANCE_PATH", str(tmp_path))
    config = {
        "SECRET_KEY": None,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
        "RB_ASYNC_MODE": "threading",
    }
    first = create_app(config).config["SECRET_KEY"]
    second = create_app(config).config["SECRET_KEY"]
    assert first == second and len(first) >= 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.sqlite_only("SQLite pragmas on every connection")
def test_sqlite_connections_delete_to_the_disk(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY


@pytest.mark.server
@pytest.mark.parametrize("mode", BOTH_MODES)
def test_real_server_writes_no_client_address(backend, mode):
    server = start_server(mode, database=live_database(backend))
    try:
        s = requests.Session()
        headers = {"User-Agent": AGENT}
        for path in ("/", "/signup", "/nowhere", "/static/css/site.css"):
            s.get(server.url + path, headers=headers, timeout=10)
        s.post(server.url + "/login", data={"alias": "x"}, headers=headers, timeout=10)
        # A sign-up and a login hash with argon2 on a real thread (eventlet's tpool,
        # gevent's hub threadpool).
        token = CSRF_RE.search(s.get(server.url + "/signup").text).group(1)
        form = {
            "csrf_token": token,
            "alias": "Nadia",
            "passphrase": PASSPHRASE,
            "passphrase2": PASSPHRASE,
        }
        signed_up = s.post(server.url + "/signup", data=form, headers=headers, timeout=30)
        assert signed_up.status_code == 200 and "recovery codes" in signed_up.text
        codes, ask = shown_codes(signed_up.text), ASKED.search(signed_up.text).group(1)
        form = {"csrf_token": CSRF_RE.search(signed_up.text).group(1), "code": codes, "ask": ask}
        form["answer"] = codes[int(ask) - 1]
        confirmed = s.post(server.url + "/codes", data=form, timeout=10, allow_redirects=False)
        assert confirmed.status_code == 303
        assert s.get(server.url + "/account", timeout=10, allow_redirects=False).status_code == 200
    finally:
        server.stop()
    log = server.log()
    assert "Red Brolly on" in log  # positive control: we are reading the server's output
    assert "127.0.0.1 -" not in log and '"GET /' not in log and "EvilAgent" not in log
