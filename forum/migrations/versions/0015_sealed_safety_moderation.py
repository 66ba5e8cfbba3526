"""Crypto-shredding, third part: the other expiring text sealed (forum/sealed.py).

Direct messages, check-in notes and urgent alerts (hour epochs), bad-date reports'
body and area and moderation-log excerpts (day epochs), notices (per account, hour
epochs). PostgreSQL: the length-limited ones become ``text`` (the sealed form is
longer); SQLite keeps the declared lengths, which it never enforces (see 0014).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from forum import sealed

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

HOURLY = sealed.Epoch(scope="space_id", expires="expires_at", length=sealed.HOUR)
DAILY = sealed.Epoch(scope="space_id", expires="expires_at", length=sealed.DAY)
EXCERPTS = sealed.Epoch(scope="space_id", expires="excerpt_expires_at", length=sealed.DAY)
NOTICES = sealed.Epoch(scope="account_id", expires="expires_at", length=sealed.HOUR, prefix="a")
SEALED = [
    ("safety_direct_messages", ["body"], HOURLY),
    ("safety_checkins", ["note"], HOURLY),
    ("safety_alerts", ["body"], HOURLY),
    ("bad_date_reports", ["body", "area"], DAILY),
    ("mod_actions", ["excerpt"], EXCERPTS),
    ("notices", ["text"], NOTICES),
]
LIMITED = [
    ("safety_alerts", "body", 500),
    ("bad_date_reports", "area", 100),
    ("mod_actions", "excerpt", 160),
    ("notices", "text", 500),
]


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, column, length in LIMITED:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))
    for table, columns, epoch in SEALED:
        sealed.seal_existing(bind, table, columns, epoch)


def downgrade():
    bind = op.get_bind()
    for table, columns, epoch in SEALED:
        sealed.unseal_existing(bind, table, columns, epoch)
    if bind.dialect.name == "postgresql":
        for table, column, length in LIMITED:
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text())
