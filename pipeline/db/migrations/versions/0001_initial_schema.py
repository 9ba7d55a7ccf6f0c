"""Initial schema: bed, packing, mesh, sweep, simulation, artifact.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('spec_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bed')),
    sa.UniqueConstraint('created_by', 'name', name='uq_bed_owner_name')
    )
    op.create_index(op.f('ix_bed_spec_digest'), 'bed', ['spec_digest'], unique=False)

    op.create_table('packing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=True),
    sa.Column('engine', sa.String(length=32), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('porosity', sa.Double(), nullable=False),
    sa.Column('porosity_gap', sa.Double(), nullable=False),
    sa.Column('porosity_core', sa.Double(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('timings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['bed_id'], ['bed.id'], name=op.f('fk_packing_bed_id_bed'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packing')),
    sa.UniqueConstraint('digest', name=op.f('uq_packing_digest'))
    )
    op.create_index(op.f('ix_packing_bed_id'), 'packing', ['bed_id'], unique=False)

    op.create_table('sweep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=True),
    sa.Column('parameter', sa.String(length=100), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['bed_id'], ['bed.id'], name=op.f('fk_sweep_bed_id_bed'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep'))
    )
    op.create_index(op.f('ix_sweep_bed_id'), 'sweep', ['bed_id'], unique=False)

    op.create_table('mesh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('packing_id', sa.Integer(), nullable=False),
    sa.Column('resolution', sa.Integer(), nullable=False),
    sa.Column('cells', sa.Integer(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['packing_id'], ['packing.id'], name=op.f('fk_mesh_packing_id_packing'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mesh')),
    sa.UniqueConstraint('digest', name=op.f('uq_mesh_digest'))
    )
    op.create_index(op.f('ix_mesh_packing_id'), 'mesh', ['packing_id'], unique=False)

    op.create_table('simulation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=False),
    sa.Column('packing_id', sa.Integer(), nullable=True),
    sa.Column('mesh_id', sa.Integer(), nullable=True),
    sa.Column('sweep_id', sa.Integer(), nullable=True),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('spec_digest', sa.String(length=64), nullable=False),
    sa.Column('engine', sa.String(length=32), nullable=False),
    sa.Column('regime', sa.String(length=32), nullable=False),
    sa.Column('superficial_velocity', sa.Double(), nullable=False),
    sa.Column('re_p', sa.Double(), nullable=False),
    sa.Column('fluid_density', sa.Double(), nullable=False),
    sa.Column('fluid_viscosity', sa.Double(), nullable=False),
    sa.Column('particle_diameter', sa.Double(), nullable=False),
    sa.Column('column_diameter', sa.Double(), nullable=False),
    sa.Column('aspect_ratio', sa.Double(), nullable=False),
    sa.Column('particle_count', sa.Integer(), nullable=False),
    sa.Column('resolution', sa.Integer(), nullable=False),
    sa.Column('processes', sa.Integer(), nullable=False),
    sa.Column('until', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', 'cancelled', name='run_status', create_constraint=True), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('completed_stage', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('process_group', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('timings', sa.JSON(), nullable=False),
    sa.Column('dp', sa.Double(), nullable=True),
    sa.Column('dp_dz', sa.Double(), nullable=True),
    sa.Column('porosity', sa.Double(), nullable=True),
    sa.Column('cells', sa.Integer(), nullable=True),
    sa.Column('iterations', sa.Integer(), nullable=True),
    sa.Column('converged', sa.Boolean(), nullable=True),
    sa.Column('ratio_ergun', sa.Double(), nullable=True),
    sa.Column('ratio_eisfeld_schnitzlein', sa.Double(), nullable=True),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['bed_id'], ['bed.id'], name=op.f('fk_simulation_bed_id_bed'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mesh_id'], ['mesh.id'], name=op.f('fk_simulation_mesh_id_mesh'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['packing_id'], ['packing.id'], name=op.f('fk_simulation_packing_id_packing'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sweep_id'], ['sweep.id'], name=op.f('fk_simulation_sweep_id_sweep'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation'))
    )
    op.create_index(op.f('ix_simulation_bed_id'), 'simulation', ['bed_id'], unique=False)
    op.create_index(op.f('ix_simulation_mesh_id'), 'simulation', ['mesh_id'], unique=False)
    op.create_index(op.f('ix_simulation_packing_id'), 'simulation', ['packing_id'], unique=False)
    op.create_index(op.f('ix_simulation_spec_digest'), 'simulation', ['spec_digest'], unique=False)
    op.create_index(op.f('ix_simulation_status'), 'simulation', ['status'], unique=False)
    op.create_index(op.f('ix_simulation_sweep_id'), 'simulation', ['sweep_id'], unique=False)

    op.create_table('artifact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=True),
    sa.Column('packing_id', sa.Integer(), nullable=True),
    sa.Column('mesh_id', sa.Integer(), nullable=True),
    sa.Column('simulation_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.CheckConstraint("kind IN ('bed', 'packing', 'stl', 'obj', 'gltf', 'glb', 'blend', 'mesh', 'case', 'vtk', 'log', 'results', 'report', 'png', 'html')", name=op.f('ck_artifact_known_kind')),
    sa.CheckConstraint('(CASE WHEN bed_id IS NULL THEN 0 ELSE 1 END + CASE WHEN packing_id IS NULL THEN 0 ELSE 1 END + CASE WHEN mesh_id IS NULL THEN 0 ELSE 1 END + CASE WHEN simulation_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_artifact_one_owner')),
    sa.ForeignKeyConstraint(['bed_id'], ['bed.id'], name=op.f('fk_artifact_bed_id_bed'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mesh_id'], ['mesh.id'], name=op.f('fk_artifact_mesh_id_mesh'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['packing_id'], ['packing.id'], name=op.f('fk_artifact_packing_id_packing'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['simulation_id'], ['simulation.id'], name=op.f('fk_artifact_simulation_id_simulation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifact'))
    )
    op.create_index(op.f('ix_artifact_bed_id'), 'artifact', ['bed_id'], unique=False)
    op.create_index(op.f('ix_artifact_mesh_id'), 'artifact', ['mesh_id'], unique=False)
    op.create_index(op.f('ix_artifact_packing_id'), 'artifact', ['packing_id'], unique=False)
    op.create_index(op.f('ix_artifact_simulation_id'), 'artifact', ['simulation_id'], unique=False)



def downgrade() -> None:
    for table in ("artifact", "simulation", "mesh", "sweep", "packing", "bed"):
        op.drop_table(table)  # drops its indexes and constraints too
    sa.Enum(name="run_status").drop(op.get_bind(), checkfirst=True)  # PostgreSQL keeps enum types otherwise
