"""The folder a run's stages worked in (``simulation.folder``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('simulation') as batch:
        batch.add_column(sa.Column('folder', sa.String(length=4096), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('simulation') as batch:
        batch.drop_column('folder')
