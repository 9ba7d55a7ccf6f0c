"""The batch job (``slurm:<id>``) a run's heavy stage runs as on a cluster (``simulation.job``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('simulation') as batch:
        batch.add_column(sa.Column('job', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('simulation') as batch:
        batch.drop_column('job')
