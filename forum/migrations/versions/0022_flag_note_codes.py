"""A watched word's flag stores the word and a code; the queue words it when shown.

``mod_flags.note_code`` ("watch_hold" or "watch_flag"); the note keeps only the word.
System flags (no flagger) whose note is one of the two English sentences this code
wrote are mapped; any other note stays as it is. Downgrade writes the English back.
Plain ADD/DROP COLUMN only (a batch copy of the table would cascade on SQLite).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 06:30:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Frozen copies of the sentences the code wrote (a migration must not change with it).
SENTENCES = {
    "watch_hold": (
        'Held for approval: watched word "{word}"',
        r'Held for approval: watched word "(.*)"',
    ),
    "watch_flag": ('Watched word "{word}"', r'Watched word "(.*)"'),
}

flags = sa.table(
    "mod_flags",
    sa.column("id", sa.Integer),
    sa.column("flagger_id", sa.Integer),
    sa.column("note", sa.String),
    sa.column("note_code", sa.String),
)


def upgrade():
    op.add_column("mod_flags", sa.Column("note_code", sa.String(length=12), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(flags.c.id, flags.c.note).where(
            flags.c.flagger_id.is_(None), flags.c.note.is_not(None)
        )
    ).all()
    for row in rows:
        for code, (_english, pattern) in SENTENCES.items():
            found = re.fullmatch(pattern, row.note, re.DOTALL)
            if found is not None:
                bind.execute(
                    sa.update(flags)
                    .where(flags.c.id == row.id)
                    .values(note=found.group(1), note_code=code)
                )
                break


def downgrade():
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(flags.c.id, flags.c.note, flags.c.note_code).where(
            flags.c.note_code.is_not(None), flags.c.note.is_not(None)
        )
    ).all()
    for row in rows:
        if row.note_code in SENTENCES:
            english = SENTENCES[row.note_code][0].format(word=row.note)[:200]
            bind.execute(sa.update(flags).where(flags.c.id == row.id).values(note=english))
    op.execute("ALTER TABLE mod_flags DROP COLUMN note_code")
