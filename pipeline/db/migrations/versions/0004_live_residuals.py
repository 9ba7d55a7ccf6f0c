"""The solver's residual history while a run solves (``simulation.residuals``), for dashboards on other machines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('simulation') as batch:
        batch.add_column(sa.Column('residuals', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('simulation') as batch:
        batch.drop_column('residuals')
