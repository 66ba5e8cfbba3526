"""The bench/ commands still run as shipped: the same seeding, server configuration and
code path as a full run (``main`` with the command's flags), only smaller and shorter.

Figures are not asserted (timed tests lie on a shared machine); only that they are
counted right: every client gets every message, each page answers, and a run in
which a client is refused fails the command instead of printing a lower number.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import chat_fanout
from bench import connections
from bench import expiry as expiry_bench
from bench import pages
from bench import sealed as sealed_bench
from bench import send_cost
from bench import servers
from moderation import trust
from tests.live import ROOT

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]

# One async mode (the production default), three clients, one repetition, short phases.
CHAT_SMALL = [
    "--modes",
    "eventlet",
    "--ns",
    "3",
    "--senders",
    "3",
    "--reps",
    "1",
    "--warmup",
    "0.3",
    "--rate-duration",
    "1",
    "--sat-duration",
    "1",
    "--budget",
    "60",
    "--drain",
    "60",
]
PAGES_SMALL = [
    "--modes",
    "eventlet",
    "--conns",
    "1",
    "--duration",
    "1",
    "--reps",
    "1",
    "--budget",
    "60",
]


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_chat_fanout_runs_as_shipped_and_counts_every_delivery(tmp_path):
    """Correctness, not speed: under any load every message of each phase reached every
    client once and was stored once, in order. A short window on a loaded machine may
    hold few or no sends, so the checks are over the whole phase (the window's figures
    are only checked for being counted consistently)."""
    out = tmp_path / "chat.jsonl"
    assert chat_fanout.main([*CHAT_SMALL, "--out", str(out)]) == 0
    rows = rows_of(out)
    assert sorted(r["mode"] for r in rows) == ["rate", "sat"]  # the saturation phase ran too
    for r in rows:
        assert "failed" not in r and "error" not in r, r
        assert chat_fanout.problems(r) == []
        sent = r["msgs_sent_phase"]
        assert sent > 0
        # 2 others hear each message by the `message` event, the sender by its ack.
        assert r["deliveries_phase_counted"] == r["deliveries_phase_expected"] == 3 * sent
        assert r["deliveries_counted"] == r["deliveries_expected"] == 3 * r["msgs_sent_in_window"]
        assert r["errors"] == r["disconnects"] == r["incomplete_msgs_after_drain"] == 0
        assert r["server_rss_mib"] > 10
    # every message sent (the probe included) was stored once, numbered in order
    assert rows[-1]["seq_advance"] == rows[-1]["msgs_sent_total"]
    [sat] = [r for r in rows if r["mode"] == "sat"]
    assert sat["msgs_sent_phase"] >= 3 * 4  # each sender's first window went out


def test_chat_fanout_fails_loudly_when_a_limit_is_hit(tmp_path, monkeypatch, capsys):
    """As shipped before the limits were raised for every level: refused sends are a failure."""
    monkeypatch.setattr(servers, "LOAD_ENV", {})
    out = tmp_path / "chat.jsonl"
    assert chat_fanout.main([*CHAT_SMALL, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "Too many tries" in err


def test_load_env_lifts_the_chat_limit_of_every_trust_level():
    """Read back the way the server reads it: the environment, through forum/config.py."""
    probe = (
        "import json; from forum.config import Config; from moderation import trust; "
        "print(json.dumps({'levels': {str(level): getattr(Config, setting) "
        "for level, setting in trust.CHAT_RATE.items()}, "
        "'by_address': Config.RB_LIMIT_BY_ADDRESS}))"
    )
    env = {**os.environ, **servers.LOAD_ENV}
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    seen = json.loads(answer.stdout)
    assert set(seen["levels"]) == {str(level) for level in trust.CHAT_RATE}
    assert set(seen["levels"].values()) == {servers.UNREACHABLE}
    assert seen["by_address"] is False  # every bench client is 127.0.0.1


def test_a_result_with_any_error_is_a_failure_not_a_figure():
    good = {
        "errors": 0,
        "error_samples": [],
        "disconnects": 0,
        "incomplete_msgs_after_drain": 0,
        "deliveries_counted": 30,
        "deliveries_expected": 30,
        "n": 3,
    }
    assert chat_fanout.problems(good) == []
    for change in (
        {"errors": 2, "error_samples": ["{'ok': False, 'status': 429}"]},
        {"disconnects": 1},
        {"incomplete_msgs_after_drain": 1},
        {"deliveries_counted": 29},
    ):
        assert chat_fanout.problems({**good, **change})
    assert pages.problems({"rps": 10.0, "non2xx": 0, "socket_errors": 0}) == []
    for change in ({"non2xx": 1}, {"socket_errors": 1}, {"rps": 0.0}):
        assert pages.problems({"rps": 10.0, "non2xx": 0, "socket_errors": 0, **change})


def test_chat_summary_has_medians_and_ratios(tmp_path):
    row = {
        "n": 3,
        "senders": 3,
        "deliveries_per_s": 100.0,
        "server_cpu_pct": 50.0,
        "gen_cpu_pct": 5.0,
        "other_cpu_pct": 0.0,
        "lat_ms": {"p50": 2.0, "p99": 4.0},
        "ack_ms": {"p50": 1.0, "p99": 2.0},
        "server_rss_mib_connected": 60.0,
        "server_peak_rss_mib": 61.0,
        "delivered_fraction": 1.0,
        "loadavg_1m": 1.0,
    }
    lines = [
        dict(row, server=s, mode=m, deliveries_per_s=d, rep=r)
        for s, d in (("redbrolly-eventlet", 100.0), ("redbrolly-gevent", 50.0))
        for m in ("rate", "sat")
        for r in range(3)
    ]
    lines.append(
        dict(
            row, server="redbrolly-eventlet", mode="sat", deliveries_per_s=1.0, rep=3, failed="429"
        )
    )
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    text = chat_fanout.summarize([path], stored=None)
    assert "| redbrolly-eventlet | 3 | sat | 3 | 100 | 200 |" in text  # the failed run is no figure
    assert "| redbrolly-eventlet | 3 | failed runs: 1 |" in text
    assert "eventlet(ours) / redbrolly-gevent: deliveries/s 2.00" in text


def test_pages_run_as_shipped_and_every_page_answers(tmp_path):
    out = tmp_path / "pages.jsonl"
    assert pages.main([*PAGES_SMALL, "--out", str(out)]) == 0
    rows = rows_of(out)
    assert {r["page"] for r in rows} == {"front", "space", "thread50", "chatroom"}
    for r in rows:
        assert "failed" not in r, r
        assert r["rps"] > 0 and r["non2xx"] == 0 and r["socket_errors"] == 0
        assert r["p50_ms"] <= r["p99_ms"]
        assert r["bytes"] > 500


def test_pages_flaskbb_without_its_install_fails_before_any_figure(tmp_path, monkeypatch, capsys):
    """--flaskbb with RB_BENCH_FLASKBB unset, or naming a folder that is not the peer's
    install: exit 2 naming what is missing, no server started, no row written."""
    out = tmp_path / "pages.jsonl"
    monkeypatch.delenv(servers.FLASKBB_ENV, raising=False)
    assert pages.main([*PAGES_SMALL, "--flaskbb", "--out", str(out)]) == 2
    assert servers.FLASKBB_ENV in capsys.readouterr().err
    monkeypatch.setenv(servers.FLASKBB_ENV, str(tmp_path / "empty"))
    assert pages.main([*PAGES_SMALL, "--flaskbb", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "venv-fbb313/bin/gunicorn" in err and "fbb/flaskbb.sqlite" in err
    assert not out.exists()


def flaskbb_html(shown: range) -> str:
    return "".join(f"<p>Thanks for sharing this, reply {i}. I went through</p>" for i in shown)


def test_a_flaskbb_page_without_its_posts_is_a_failure():
    assert pages.flaskbb_page_problem(flaskbb_html(range(20)), 20) is None
    assert pages.flaskbb_page_problem(flaskbb_html(range(50)), 50) is None
    assert pages.flaskbb_page_problem(flaskbb_html(range(50)), 100) is None  # the topic has 50
    assert "shows 10 of" in pages.flaskbb_page_problem(
        flaskbb_html(range(10)), 20
    )  # page size not set
    assert "shows 20 of" in pages.flaskbb_page_problem(flaskbb_html(range(20, 40)), 20)  # page 2
    assert "shows 0 of" in pages.flaskbb_page_problem("<form>Login</form>", 20)  # a 200 login page


def test_pages_summary_gives_ours_over_flaskbb_per_cpu_second(tmp_path):
    def row(server, page, rps, cpu, p50, rep):
        return {
            "server": server,
            "page": page,
            "conns": 1,
            "rep": rep,
            "rps": rps,
            "server_cpu_pct": cpu,
            "p50_ms": p50,
            "p99_ms": p50 * 2,
            "other_cpu_pct": 0.0,
            "server_peak_rss_mib": 100.0,
            "non2xx": 0,
        }

    lines = [row("redbrolly-eventlet", "thread50", 200.0, 100.0, 4.0, r) for r in range(3)]
    lines += [
        row("redbrolly-eventlet", "chatroom", 150.0, 50.0, 12.0, r) for r in range(3)
    ]  # 300 per CPU-s
    lines += [row("flaskbb-20", "topic", 9.0, 90.0, 100.0, r) for r in range(3)]  # 10 per CPU-s
    lines += [row("flaskbb-50", "topic", 4.0, 100.0, 250.0, r) for r in range(3)]  # 4 per CPU-s
    lines.append(
        {**row("flaskbb-50", "topic", 1.0, 100.0, 250.0, 3), "failed": "1 responses were not 2xx"}
    )
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    text = pages.summarize([path], stored=None)
    ours = "| redbrolly-eventlet | 200.0 | 4.0 |"
    assert f"| thread50 | 1 {ours} 20 posts a page | 10.00 | 100.0 | 20.0x | met | met |" in text
    assert f"| thread50 | 1 {ours} 50 posts a page | 4.00 | 250.0 | 50.0x | met | met |" in text
    chat = "| chatroom | 1 | redbrolly-eventlet | 300.0 | 12.0 |"
    assert f"{chat} 20 posts a page | 10.00 | 100.0 | 30.0x | met | MISSED |" in text  # p50 12 ms
    assert "| topic | 1 | flaskbb-50 | failed: 1 responses were not 2xx |" in text  # not a figure
    assert "REFERENCE, not this run" not in text
    quiet = pages.summarize([path], stored=None, max_other=25.0)
    assert "| topic | 1 | flaskbb-20 | 3 |" in quiet
    busy = [dict(x, other_cpu_pct=120.0) if x["server"] == "flaskbb-20" else x for x in lines]
    path.write_text("\n".join(json.dumps(x) for x in busy))
    quiet = pages.summarize([path], stored=None, max_other=25.0)
    assert "Left out: 3 runs" in quiet and "| topic | 1 | flaskbb-20 |" not in quiet
    assert "20 posts a page" not in quiet and "50 posts a page | 4.00 |" in quiet


@pytest.mark.skipif(
    not os.environ.get(servers.FLASKBB_ENV), reason="no FlaskBB scratch install (RB_BENCH_FLASKBB)"
)
def test_pages_run_beside_flaskbb_and_its_topic_shows_its_posts(tmp_path):
    out = tmp_path / "pages.jsonl"
    assert pages.main([*PAGES_SMALL, "--flaskbb", "--flaskbb-posts", "20", "--out", str(out)]) == 0
    topic = [r for r in rows_of(out) if r["page"] == "topic"]
    assert [(r["server"], r["posts_on_page"]) for r in topic] == [("flaskbb-20", 20)]
    assert topic[0]["rps"] > 0 and topic[0]["non2xx"] == 0 and "failed" not in topic[0]


def test_sealed_bench_runs_and_counts_every_figure(tmp_path, capsys):
    """bench/sealed.py: every figure measured (a page that lost its text would fail the
    command's own checks), one JSON line appended, the medians printed."""
    out = tmp_path / "sealed.jsonl"
    assert sealed_bench.main(["--reps", "1", "--n", "40", "--out", str(out)]) == 0
    (row,) = rows_of(out)
    for key in ("seal_us", "open_us", "store_us", "chat_page_orm_us", "thread_page_orm_us"):
        assert row[key] > 0, key
    assert row["posts_sealed"] == 1.0  # the thread page's figures include opening
    assert "chat_page_open_us" in capsys.readouterr().out


def test_send_cost_runs_and_counts_every_send(tmp_path, capsys):
    """bench/send_cost.py: every send acked and heard (else the command fails), CPU and
    statements counted per send, one JSON line appended; the profile prints."""
    out = tmp_path / "send_cost.jsonl"
    argv = ["--reps", "1", "--n", "10", "--gap-ms", "0", "--profile", "cprofile", "--top", "5"]
    assert send_cost.main([*argv, "--out", str(out)]) == 0
    (row,) = rows_of(out)
    assert row["cpu_us"] > 0 and row["n"] == 10
    assert 5 <= row["statements"] <= 12
    assert "calls a send" in capsys.readouterr().out


def test_connections_runs_as_shipped_and_every_client_hears_the_probe(tmp_path):
    out = tmp_path / "connections.jsonl"
    argv = ["--ns", "3", "--reps", "1", "--no-node", "--idle", "0.5", "--out", str(out)]
    assert connections.main(argv) == 0
    rows = rows_of(out)
    assert sorted(row["server"] for row in rows) == ["redbrolly-eventlet", "redbrolly-gevent"]
    for row in rows:  # the default measures both async modes, gevent (the default) first
        assert "failed" not in row, row
        assert row["n"] == 3 and row["connect_s"] > 0 and row["rss_after_mib"] > 10
        assert row["seq_after"] == 2  # one probe after joining, one after idling: both stored


# The same seeding (migrations, the model layer's sample, sealed bulk rows), server and
# sweep as `python -m bench.expiry`, with thousands of messages instead of millions.
EXPIRY_SMALL = ["--total", "3000", "--expired", "1000", "--spaces", "3", "--before", "1"]
EXPIRY_SMALL += ["--after", "1", "--drain", "20", "--limit", "120"]


def _expiry_rows_counted_right(rows: list[dict], phases: list[tuple[str, int, int]]) -> None:
    assert [(r["phase"], r["total"], r["expired"]) for r in rows] == phases
    for r in rows:
        assert "failed" not in r, r
        assert expiry_bench.problems(r) == []
        assert r["deleted"] == r["expired"] and r["due_left"] == 0 and r["ended_keys_left"] == 0
        assert r["chat_sent"] == r["chat_acked"] > 0 and r["errors"] == 0
        assert r["rows_left"] == r["total"] - r["expired"] + r["chat_acked"]
        assert r["sweep_s"] > 0


def test_expiry_bench_runs_as_shipped_with_the_servers_own_sweeper(tmp_path):
    """A small table and a bigger one, swept by the server's start-up sweep while a
    client chats: every expired row gone, every live one and every message sent kept."""
    out = tmp_path / "expiry.jsonl"
    assert expiry_bench.main([*EXPIRY_SMALL, "--small", "1500", "--out", str(out)]) == 0
    _expiry_rows_counted_right(rows_of(out), [("small", 1500, 1000), ("big", 3000, 1000)])


def test_expiry_bench_runs_as_shipped_with_the_timers_command(tmp_path):
    """``flask expire`` (the systemd timer's command, at its unit's priority) sweeps while
    the client chats with the server; the command printed what it deleted."""
    out = tmp_path / "expiry.jsonl"
    argv = [*EXPIRY_SMALL, "--small", "0", "--sweeper", "cli", "--out", str(out)]
    assert expiry_bench.main(argv) == 0
    rows = rows_of(out)
    _expiry_rows_counted_right(rows, [("big", 3000, 1000)])
    assert rows[0]["sweep_process_s"] >= rows[0]["sweep_s"]


def test_expiry_bench_fails_loudly_on_a_wrong_count():
    good = {
        "phase": "big",
        "total": 10,
        "expired": 4,
        "deleted": 4,
        "sweep_s": 1.0,
        "chat_sent": 5,
        "chat_acked": 5,
        "errors": 0,
        "rows_left": 11,
        "rows_left_expected": 11,
        "due_left": 0,
        "ended_keys_left": 0,
        "ack_during_ms": {"sent": 3},
    }
    assert expiry_bench.problems(good) == []
    for change in (
        {"deleted": 3},
        {"chat_acked": 4},
        {"errors": 1, "error_samples": ["500"]},
        {"rows_left": 10},
        {"due_left": 1},
        {"ended_keys_left": 1},
        {"sweep_exit": 1, "sweep_output": "Traceback"},
        {"ack_during_ms": {"sent": 0}, "sweep_s": 30.0},
    ):
        assert expiry_bench.problems({**good, **change}), change
