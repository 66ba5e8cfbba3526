"""The same rules on the scale-out stack: PostgreSQL for data, Redis shared by workers."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from tests.support import PASSPHRASE
from tests.support import IsolatedClient
from tests.support import base_config
from tests.support import confirm_codes
from tests.support import login
from tests.support import post


def test_migrations_and_accounts_on_postgresql(pg_url, tmp_path):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        from forum import schema

        schema.upgrade_schema()
        client = app.test_client()
        response = post(
            client,
            "/signup",
            {"alias": "Nadia", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
        )
        assert response.status_code == 200
        confirm_codes(client, response.get_data(as_text=True))
        clash = post(
            app.test_client(),
            "/signup",
            {"alias": "NADIA", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
        )
        assert clash.status_code == 409
        post(client, "/logout")
        login(client, "nadia")
        assert client.get("/account").status_code == 200
        account = db.session.scalar(sa.select(Account))
        assert account.created_at.tzinfo is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession)) == 1
        db.session.remove()
        db.engine.dispose()


def _redis_app(tmp_path, redis_url, prefix):
    app = create_app(
        base_config(
            tmp_path,
            REDIS_URL=redis_url,
            RATELIMIT_STORAGE_URI=redis_url,
            RATELIMIT_KEY_PREFIX=prefix,
        )
    )
    app.test_client_class = IsolatedClient
    return app


def test_rate_limits_are_shared_between_workers_through_redis(redis_url, tmp_path, template_db):
    import shutil

    shutil.copy(template_db, tmp_path / "test.db")
    prefix = "rbtest" + secrets.token_hex(4)
    worker_a = _redis_app(tmp_path, redis_url, prefix)
    worker_b = _redis_app(tmp_path, redis_url, prefix)
    try:
        # Sign-ups per address (RB_LIMIT_SIGNUP_ADDRESS, "20 per hour"): all on worker A.
        # Flask-Limiter keeps the first app's key prefix for the process, so the counters
        # are kept apart from other runs by an address and aliases of this run's own.
        allowed = int(worker_a.config["RB_LIMIT_SIGNUP_ADDRESS"].split()[0])
        run = secrets.token_hex(3)
        address = {"REMOTE_ADDR": "10.%d.%d.%d" % tuple(secrets.token_bytes(3))}
        for i in range(allowed):
            with worker_a.app_context():
                accepted = post(
                    worker_a.test_client(),
                    "/signup",
                    {"alias": f"P{run}x{i}", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
                    environ_base=address,
                )
            assert accepted.status_code < 400, (i, accepted.status_code)
        with worker_b.app_context():
            response = post(
                worker_b.test_client(),
                "/signup",
                {"alias": f"P{run}last", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
                environ_base=address,
            )
        assert response.status_code == 429  # one more from that address, on another worker
    finally:
        client = worker_a.extensions["rb_redis"]
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        for key in client.scan_iter("rb:addrkey:*"):
            client.expire(key, 172800)
        for app in (worker_a, worker_b):
            with app.app_context():
                db.engine.dispose()


def test_address_hmac_key_is_shared_and_never_the_address(redis_url, tmp_path):
    from forum import ratelimit

    keys = []
    for _ in range(2):
        app = _redis_app(tmp_path, redis_url, "rbtest" + secrets.token_hex(4))
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.23"}):
            keys.append(ratelimit.address_key())
    assert keys[0] == keys[1]
    assert "198.51.100.23" not in keys[0] and keys[0].startswith("addr:")
