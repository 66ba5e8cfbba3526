"""What crypto-shredding costs: sealing per message, opening per page (forum/sealed.py).

    python -m bench.sealed                  # 7 repetitions, medians
    python -m bench.sealed --reps 3 --n 200

In process, on the instance ``bench.servers.seed(pages=True)`` builds (a room with 50
messages, a thread with 50 Markdown posts). Figures, each the median of ``--reps``:

- ``seal_us`` / ``open_us``: one 300-character message sealed (AES-256-GCM + base64)
  and opened, with its epoch key cached (the steady state of a server);
- ``store_us``: a whole chat send through ``chat.post_message`` (clean, screen, seq,
  seal, commit, on SQLite): the share the seal is of a message's cost;
- ``chat_page_*`` / ``thread_page_*``: a page of 50 rows loaded through the ORM, with
  the sealed column (each value opened) and with it deferred (``*_nobody_us``); the
  difference (``*_open_us``) is what loading and opening the text costs a page.

Appends one JSON line per run to ``bench/results/sealed.jsonl`` and prints the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from bench.servers import _seed_config
from bench.servers import remove_instance
from bench.servers import seed
from forum import sealed
from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from realtime import chat
from realtime.models import ChatMessage

HERE = Path(__file__).resolve().parent
MESSAGE = ("meet at the usual place, text me when you are there " * 6)[:300]
PAGE = 50


def _per_call(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call, over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def run_once(n: int, counter: list[int]) -> dict[str, float]:
    box = sealed.vault()
    room_id = db.session.scalar(sa.select(ChatMessage.room_id).limit(1))
    sample = db.session.scalar(sa.select(ChatMessage).where(ChatMessage.room_id == room_id))
    kid = sealed.key_id_for(sample)
    stored = box.seal(MESSAGE, kid)
    author = db.session.get(Account, sample.author_id)
    thread_id = db.session.scalar(
        sa.select(Post.thread_id).group_by(Post.thread_id).order_by(sa.func.count().desc()).limit(1)
    )

    def store() -> None:
        counter[0] += 1
        chat.post_message(
            author, room_id, f"bench-message-{counter[0]:06d}", MESSAGE, confirmed=True
        )

    def chat_orm() -> None:
        db.session.expire_all()
        rows = db.session.scalars(
            sa.select(ChatMessage).where(ChatMessage.room_id == room_id).limit(PAGE)
        ).all()
        assert len(rows) == PAGE and all(row.body for row in rows)  # noqa: S101

    def chat_nobody() -> None:
        db.session.expire_all()
        rows = db.session.scalars(
            sa.select(ChatMessage)
            .options(so.defer(ChatMessage.body))
            .where(ChatMessage.room_id == room_id)
            .limit(PAGE)
        ).all()
        assert len(rows) == PAGE  # noqa: S101

    sealed_post = isinstance(Post.__table__.c.body.type, sealed.SealedText)

    def thread_orm() -> None:
        db.session.expire_all()
        rows = db.session.scalars(sa.select(Post).where(Post.thread_id == thread_id).limit(PAGE))
        assert all(row.body for row in rows)  # noqa: S101

    def thread_nobody() -> None:
        db.session.expire_all()
        rows = db.session.scalars(
            sa.select(Post)
            .options(so.defer(Post.body))
            .where(Post.thread_id == thread_id)
            .limit(PAGE)
        ).all()
        assert rows  # noqa: S101

    figures = {
        "seal_us": _per_call(lambda: box.seal(MESSAGE, kid), n),
        "open_us": _per_call(lambda: box.open(stored), n),
        "store_us": _per_call(store, max(1, n // 20)),
        "chat_page_orm_us": _per_call(chat_orm, max(1, n // 20)),
        "chat_page_nobody_us": _per_call(chat_nobody, max(1, n // 20)),
        "thread_page_orm_us": _per_call(thread_orm, max(1, n // 20)),
        "thread_page_nobody_us": _per_call(thread_nobody, max(1, n // 20)),
        "posts_sealed": float(sealed_post),
    }
    db.session.commit()
    return figures


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = runs[0].keys()
    return {key: round(statistics.median(run[key] for run in runs), 1) for key in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000, help="calls per figure (pages: n/20)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sealed.jsonl")
    args = parser.parse_args(argv)
    seeded = seed(2, pages=True)
    runs: list[dict[str, float]] = []
    try:
        app = create_app(_seed_config(seeded.instance))
        with app.app_context():
            counter = [0]
            for _ in range(max(1, args.reps)):
                runs.append(run_once(max(20, args.n), counter))
            db.session.remove()
            db.engine.dispose()
    finally:
        remove_instance(seeded)
    medians = summarize(runs)
    medians["chat_page_open_us"] = round(
        medians["chat_page_orm_us"] - medians["chat_page_nobody_us"], 1
    )
    medians["thread_page_open_us"] = round(
        medians["thread_page_orm_us"] - medians["thread_page_nobody_us"], 1
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        fh.write(json.dumps({"reps": len(runs), "n": args.n, "page": PAGE, **medians}) + "\n")
    width = max(map(len, medians))
    for key, value in medians.items():
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
