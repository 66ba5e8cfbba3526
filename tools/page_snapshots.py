"""Byte-identity snapshots of the thread and chat room pages, for before/after comparisons.

    python tools/page_snapshots.py build DB           # once: a fixed world in the folder DB
    python tools/page_snapshots.py render DB OUT      # every page as each viewer sees it
    git worktree / an export of the old commit: render DB OLD there, then diff -r OLD OUT

Run from the root of the tree to render (the current directory comes first on sys.path).
The world: a 47-post thread (a content warning, runs of posts by a blocked name, own and
others' hidden posts, an edited one, one expired, one "disappearing in a moment"), a thread
by the blocked name, a pinned and locked thread in a space that keeps posts, hidden and
expired threads, threads in a hidden and a closed space, a 64-message room with hidden and
blocked messages, rooms of other spaces, an urgent alert in the open space. Viewers: a
member who blocked a name, a moderator, a member of one space only with two unseen notices,
an instance admin, a writer in discreet mode, a reader signed out; every language and two
zones for the first, two combinations for the others; the 404s (hidden, expired, another space's room,
a stranger's guess) are pages too. The clock is frozen; CSRF tokens and the chat form's
random client id are blanked.
"""

import json
import os
import re
import shutil
import sys
import tempfile
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

sys.path.insert(0, os.getcwd())

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(hours=30, minutes=7, seconds=13)
LANGS = ["en", "es", "fr", "pt", "ru"]
ZONES = ["UTC", "Asia/Kolkata"]
CLIENT_ID = re.compile(r'name="client_id" value="[^"]*"')


def freeze(when: datetime) -> None:
    from forum import clock

    clock.now = lambda: when


def build(folder: Path) -> None:
    from forum import schema
    from forum.app import create_app
    from forum.extensions import db
    from forum.models import Account
    from forum.models import Post
    from forum.models import Thread
    from forum.safety.models import UrgentAlert
    from moderation import blocks
    from moderation import notices
    from realtime.models import ChatMessage
    from tests import factories as f
    from tests.support import base_config

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    app = create_app(base_config(folder))
    meta = {}
    with app.app_context():
        schema.upgrade_schema()
        freeze(T0)
        f.make_account("Admina", admin=True)
        owner = f.make_account("Owena")
        mara = f.make_account("Mara")
        modi = f.make_account("Modi")
        blocky = f.make_account("Blocky")
        stan = f.make_account("Stan")
        writers = [f.make_account(f"Writer{i}") for i in range(3)]
        s1 = f.make_space(
            "open", owner=owner, name="Open one", post_retention_days=30, chat_retention_hours=48
        )
        s2 = f.make_space("open", owner=owner, name="Open keeps")
        hidden = f.make_space("hidden", owner=owner, name="Hidden one")
        closed = f.make_space("closed", owner=owner, name="Closed one")
        for s in (s1, s2, hidden, closed):
            f.add_member(s, mara, space_alias="MaraHere" if s is hidden else None)
            f.add_member(s, modi, role="moderator")
            f.add_member(s, blocky)
            for w in writers:
                f.add_member(s, w)
        f.add_member(s1, stan)
        body = "Post {i}: **bold**, *em*, `code`\n\n- a\n- b\n\n> q"
        # The long thread: runs of blocked posts, own posts, hidden posts, cw, edits.
        authors = [writers[0], blocky, blocky, mara, writers[1], writers[2], blocky, mara, modi]
        t1 = f.make_thread(
            s1,
            writers[0],
            title="Long <thread> & more",
            body=body.format(i=0),
            content_warning="first cw",
        )
        post_ids = []
        for i in range(1, 47):
            who = authors[i % len(authors)]
            p = f.make_post(
                t1,
                who,
                body=body.format(i=i),
                when=T0 + timedelta(minutes=i * 37),
                content_warning="a cw" if i % 11 == 0 else None,
            )
            post_ids.append(p.id)
        db.session.get(Post, post_ids[2]).hidden_at = T0  # blocky's, hidden
        db.session.get(Post, post_ids[6]).hidden_at = T0  # mara's own, hidden
        db.session.get(Post, post_ids[9]).hidden_at = T0  # writers[1]'s, hidden
        db.session.get(Post, post_ids[12]).edited_at = T0 + timedelta(hours=2)
        db.session.get(Post, post_ids[20]).expires_at = T0 + timedelta(hours=1)  # expired
        db.session.get(Post, post_ids[21]).expires_at = NOW + timedelta(seconds=30)  # a moment
        db.session.get(Post, post_ids[22]).expires_at = NOW + timedelta(minutes=45)
        db.session.commit()
        t_blocked = f.make_thread(s1, blocky, title="By blocky", body="blocky's thread")
        f.make_post(t_blocked, mara, body="mara replies")
        t_pinned = f.make_thread(s2, mara, title="Pinned & locked", body="kept forever")
        for i in range(5):
            f.make_post(t_pinned, writers[i % 3], body=f"reply {i}")
        th = db.session.get(Thread, t_pinned.id)
        th.pinned, th.locked = True, True
        t_hidden = f.make_thread(s1, writers[1], title="Hidden thread", body="x")
        db.session.get(Thread, t_hidden.id).hidden_at = T0
        t_expired = f.make_thread(s1, writers[1], title="Expired thread", body="x")
        db.session.get(Thread, t_expired.id).expires_at = T0 + timedelta(minutes=5)
        t_in_hidden = f.make_thread(hidden, mara, title="In the hidden space", body="secret")
        f.make_post(t_in_hidden, writers[0], body="secret reply")
        t_in_closed = f.make_thread(closed, writers[0], title="In the closed space", body="closed")
        db.session.commit()
        room = f.make_room(s1)
        msg_authors = [writers[0], blocky, mara, writers[1], modi, blocky]
        msgs = []
        for i in range(64):
            m = f.make_message(
                room,
                msg_authors[i % len(msg_authors)],
                f"message {i} with *em* and <b>tags</b> & more",
                when=T0 + timedelta(minutes=20 * i),
            )
            msgs.append(m.id)
        db.session.get(ChatMessage, msgs[40]).hidden_at = T0
        db.session.get(ChatMessage, msgs[45]).hidden_at = T0
        db.session.commit()
        room_h = f.make_room(hidden)
        for i in range(3):
            f.make_message(room_h, writers[0], f"hidden room {i}", when=T0 + timedelta(minutes=i))
        room_2 = f.make_room(s2)
        f.make_message(room_2, writers[1], "in s2", when=T0)
        # Mara blocks Blocky (the everyday alias: everywhere)
        blocks.block(mara, "post", post_ids[0])
        # The header and banner: an urgent alert in s1 (every member but its author and
        # Admina, who is in no space, sees the banner), two unseen notices for Stan, and
        # Writer1 in discreet mode.
        db.session.add(
            UrgentAlert(
                space_id=s1.id,
                author_id=writers[2].id,
                author_name=writers[2].alias,
                body="Careful <tonight> & tomorrow",
                created_at=T0,
                expires_at=NOW + timedelta(hours=2),
            )
        )
        for _ in range(2):
            notices.notify(stan.id, "redacted", {"space": s1.id, "kind": "post"})
        db.session.get(Account, writers[1].id).discreet = True
        db.session.commit()
        meta = {
            "s1": s1.id,
            "s2": s2.id,
            "hidden": hidden.id,
            "closed": closed.id,
            "t1": t1.id,
            "t_blocked": t_blocked.id,
            "t_pinned": t_pinned.id,
            "t_hidden": t_hidden.id,
            "t_expired": t_expired.id,
            "t_in_hidden": t_in_hidden.id,
            "t_in_closed": t_in_closed.id,
            "room": room.id,
            "room_h": room_h.id,
            "room_2": room_2.id,
        }
        db.session.remove()
        db.engine.dispose()
    (folder / "meta.json").write_text(json.dumps(meta))
    print(meta)


def render(folder: Path, out: Path) -> None:
    from forum.app import create_app
    from forum.extensions import db
    from tests.support import CSRF_VALUE
    from tests.support import base_config
    from tests.support import login

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rbsnap-"))
    for name in ("test.db", "test.vault.db"):
        shutil.copy(folder / name, work / name)
    meta = json.loads((folder / "meta.json").read_text())
    m = meta
    pages = {
        "t1": f"/t/{m['t1']}",
        "t1p2": f"/t/{m['t1']}?page=2",
        "t1p3": f"/t/{m['t1']}?page=3",
        "t1p9": f"/t/{m['t1']}?page=9",
        "tblocked": f"/t/{m['t_blocked']}",
        "tpinned": f"/t/{m['t_pinned']}",
        "thidden": f"/t/{m['t_hidden']}",
        "texpired": f"/t/{m['t_expired']}",
        "tinhidden": f"/t/{m['t_in_hidden']}",
        "tinclosed": f"/t/{m['t_in_closed']}",
        "tmissing": "/t/999999",
        "room": f"/s/{m['s1']}/chat/{m['room']}",
        "roombefore": f"/s/{m['s1']}/chat/{m['room']}?before=30",
        "roomslug": f"/s/open-one/chat/{m['room']}",
        "roomh": f"/s/{m['hidden']}/chat/{m['room_h']}",
        "roomcross": f"/s/{m['s1']}/chat/{m['room_h']}",
        "roomcross2": f"/s/{m['s1']}/chat/{m['room_2']}",
        "roommissing": f"/s/{m['s1']}/chat/999999",
        "space": f"/s/{m['s1']}",
        "front": "/",
    }
    app = create_app(base_config(work))
    from tests.support import IsolatedClient

    app.test_client_class = IsolatedClient
    with app.app_context():
        freeze(NOW)
        viewers = ["Mara", "Modi", "Stan", "Admina", "Writer1", "nobody"]
        clients = {}
        for v in viewers:
            c = app.test_client()
            if v != "nobody":  # signed out
                login(c, v)
            clients[v] = c
        n = 0
        for v in viewers:
            c = clients[v]
            # "-": no language chosen yet (the first-visit picker; signed out, the look's too)
            for lang in [*LANGS, "-"]:
                for zone in ZONES:
                    if lang == "-":
                        c.delete_cookie("rb_lang")
                    else:
                        c.set_cookie("rb_lang", lang)
                    c.set_cookie("rb_tz", zone)
                    if lang == "-" and (v, zone) not in (("Stan", "UTC"), ("nobody", "UTC")):
                        continue
                    if v != "Mara" and (lang, zone) not in (("en", "UTC"), ("ru", "Asia/Kolkata")):
                        if lang != "-":
                            continue
                    for name, url in pages.items():
                        r = c.get(url)
                        text = r.get_data(as_text=True)
                        text = CLIENT_ID.sub(
                            'name="client_id" value=""',
                            CSRF_VALUE.sub('name="csrf_token" value=""', text),
                        )
                        (out / f"{v}_{lang}_{zone.replace('/', '-')}_{name}.html").write_text(
                            f"{r.status_code}\n{text}"
                        )
                        n += 1
        db.session.remove()
        db.engine.dispose()
    print(f"{n} pages in {out}")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]))
    else:
        render(Path(sys.argv[2]), Path(sys.argv[3]))
