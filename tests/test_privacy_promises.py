"""docs/PRIVACY.md names a test for every promise; those tests exist. Plus the promises
about the client address that no other test file owns."""

from __future__ import annotations

import ast
import re
import secrets
from datetime import datetime
from datetime import timezone
from pathlib import Path

import pytest

from forum import ratelimit
from tests.support import base_config

ROOT = Path(__file__).resolve().parent.parent
PRIVACY = ROOT / "docs" / "PRIVACY.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def _promise_rows() -> list[str]:
    """Every table row but the header rows (those right above a |---| line)."""
    lines = PRIVACY.read_text(encoding="utf-8").splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("| "):
            continue
        header = i + 1 < len(lines) and lines[i + 1].startswith("|---")
        if not header:
            rows.append(line)
    return rows


def test_every_test_named_in_privacy_md_exists():
    refs = TEST_REF.findall(PRIVACY.read_text(encoding="utf-8"))
    assert len(refs) >= 20  # the checker reads the file it should
    missing = []
    for file, name in refs:
        path = ROOT / file
        if not path.is_file() or name not in _test_names(path):
            missing.append(f"{file}::{name}")
    assert missing == []


def test_every_promise_in_privacy_md_names_a_test():
    rows = _promise_rows()
    assert len(rows) >= 15
    assert [row for row in rows if not TEST_REF.search(row)] == []


# --- The client address: only in memory, as an HMAC under a key that ends with its day ----------


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (datetime(2026, 5, 1, 0, 0, 0, tzinfo=timezone.utc), 86400 + 60),
        (datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc), 43200 + 60),
        (datetime(2026, 5, 1, 23, 59, 59, tzinfo=timezone.utc), 1 + 60),
    ],
)
def test_a_days_address_key_lives_until_a_minute_after_midnight(now, seconds):
    assert ratelimit._seconds_left_today(now) == seconds


@pytest.mark.redis
def test_the_address_key_in_redis_expires_when_its_day_ends(redis_url, tmp_path, clock):
    from forum.app import create_app

    app = create_app(
        base_config(
            tmp_path,
            REDIS_URL=redis_url,
            RATELIMIT_STORAGE_URI=redis_url,
            RATELIMIT_KEY_PREFIX="rbtest" + secrets.token_hex(4),
        )
    )
    client = app.extensions["rb_redis"]
    clock.set(datetime(2031, 3, 4, 22, 0, 0, tzinfo=timezone.utc))  # a day no other test uses
    name = "rb:addrkey:20310304"
    client.delete(name)
    try:
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.24"}):
            key = ratelimit.address_key()
        assert "198.51.100.24" not in key
        assert 0 < client.ttl(name) <= 2 * 3600 + 60  # not 48 hours: gone a minute after midnight
    finally:
        client.delete(name)
