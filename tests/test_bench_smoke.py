"""The bench/ scripts still run: the smallest configuration, against the real server.

Figures are not asserted (timed tests lie on a shared machine); only that they are
counted right: every client gets every message, and each page answers.
"""

from __future__ import annotations

import json
import shutil

import pytest

from bench import chat_fanout
from bench import pages
from bench.servers import remove_instance
from bench.servers import seed
from bench.servers import start_ours

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def served():
    """One threading-mode server (the cheapest to start) for both scripts."""
    seeded = seed(3, pages=True)
    server = start_ours("threading", seeded)
    yield server, seeded
    server.stop()
    remove_instance(seeded)


def test_chat_fanout_counts_every_delivery(served):
    server, seeded = served
    phases = [chat_fanout.Phase("rate", warmup=0, duration=1.5, rate=10, count=5, drain=10)]
    (result,), last_seq = chat_fanout.measure(server, 3, seeded, phases, hard_limit=60)
    assert result["msgs_sent_in_window"] == 5
    # 2 others hear each message by the `message` event, the sender by its ack.
    assert result["deliveries_counted"] == result["deliveries_expected"] == 3 * 5
    assert result["lat_ms"]["samples"] == 2 * 5 and result["ack_ms"]["samples"] == 5
    assert result["errors"] == result["disconnects"] == result["incomplete_msgs_after_drain"] == 0
    assert 0 < result["lat_ms"]["p50"] <= result["lat_ms"]["p99"]
    assert result["server_rss_mib"] > 10
    # the seeded 50, the probe and five messages were stored, numbered in order
    assert last_seq == 50 + 1 + 5


def test_chat_summary_has_medians_and_ratios(tmp_path):
    row = {"n": 3, "senders": 3, "deliveries_per_s": 100.0, "server_cpu_pct": 50.0, "gen_cpu_pct": 5.0,
           "other_cpu_pct": 0.0, "lat_ms": {"p50": 2.0, "p99": 4.0}, "ack_ms": {"p50": 1.0, "p99": 2.0},
           "server_rss_mib_connected": 60.0, "server_peak_rss_mib": 61.0, "delivered_fraction": 1.0,
           "loadavg_1m": 1.0}
    lines = [dict(row, server=s, mode=m, deliveries_per_s=d, rep=r)
             for s, d in (("redbrolly-eventlet", 100.0), ("redbrolly-gevent", 50.0))
             for m in ("rate", "sat") for r in range(3)]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    text = chat_fanout.summarize([path], stored=None)
    assert "| redbrolly-eventlet | 3 | sat | 3 | 100 | 200 |" in text
    assert "eventlet(ours) / redbrolly-gevent: deliveries/s 2.00" in text


def test_pages_answer_and_measure(served):
    server, seeded = served
    cookie = f"rb_session={seeded.tokens[0]}"
    sizes = pages.check_pages(server, seeded, cookie)
    result = pages.measure_page(server, server.origin + "/", cookie, conns=2, duration=1, client="python")
    if shutil.which("wrk"):
        by_wrk = pages.measure_page(server, server.origin + "/", cookie, conns=1, duration=1, client="wrk")
        assert by_wrk["rps"] > 0 and by_wrk["non2xx"] == 0
    assert set(sizes) == {"front", "space", "thread50", "chatroom"} and min(sizes.values()) > 500
    assert result["rps"] > 0 and result["non2xx"] == 0
    assert result["p50_ms"] <= result["p99_ms"]
