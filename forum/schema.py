"""Create or upgrade the database schema: always through the Alembic migrations."""

from __future__ import annotations

from flask_migrate import upgrade


def upgrade_schema() -> None:
    """Bring the configured database to the newest migration (creates it if empty)."""
    upgrade()
