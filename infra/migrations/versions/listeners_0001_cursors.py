"""listeners: durable source cursors and the state each listener reports for status

Revision ID: listeners_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "listeners_0001"
down_revision = None
branch_labels = ("listeners",)
depends_on = None

UTC_DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "listener_cursors",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
    )
    op.create_table(
        "listener_states",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_post_at", sa.String(40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("dead", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("quota_left", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("listener_states")
    op.drop_table("listener_cursors")
