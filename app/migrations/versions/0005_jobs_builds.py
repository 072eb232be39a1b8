"""re-index jobs, index builds (the active one), replicas, and who runs an idempotent turn

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("owner", sa.String(200), nullable=True))
    op.create_table(
        "index_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.String(64), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "index_builds",
        sa.Column("build_id", sa.String(64), primary_key=True),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "index_replicas",
        sa.Column("replica_id", sa.String(200), primary_key=True),
        sa.Column("build_id", sa.String(64), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("index_replicas")
    op.drop_table("index_builds")
    op.drop_table("index_jobs")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("owner")
