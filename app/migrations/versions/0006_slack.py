"""slack: accepted events (idempotency), threads → conversations/tickets, Slack users

Revision ID: 0006
Revises: 0005 (re-pointed to 0005 when merged after it)
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_events",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "slack_threads",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("thread_ts", sa.String(40), nullable=False),
        sa.Column("slack_user", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False, index=True),
        sa.Column("conversation_id", sa.String(36), nullable=True, index=True),
        sa.Column("ticket_id", sa.String(36), nullable=True, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel_id", "thread_ts", "slack_user", name="uq_slack_threads"),
    )
    op.create_table(
        "slack_users",
        sa.Column("slack_user", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(200), nullable=False, index=True),
        sa.Column("dm_channel", sa.String(40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_users")
    op.drop_table("slack_threads")
    op.drop_table("slack_events")
