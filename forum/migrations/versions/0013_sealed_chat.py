"""Crypto-shredding, first part: chat message bodies stored sealed (forum/sealed.py).

The column stays TEXT; existing plain bodies are encrypted here under the key of
their space's hour of expiry, which the vault (``RB_VAULT_PATH``) creates. The
downgrade decrypts them again (bodies whose key is already destroyed stay empty).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

from forum import sealed

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CHAT = sealed.Epoch(scope="space_id", expires="expires_at", length=sealed.HOUR)


def upgrade():
    sealed.seal_existing(op.get_bind(), "chat_messages", ["body"], CHAT)


def downgrade():
    sealed.unseal_existing(op.get_bind(), "chat_messages", ["body"], CHAT)
