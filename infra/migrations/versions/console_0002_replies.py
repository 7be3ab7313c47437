"""console: replies written in the console (sent, or to send by hand)

Revision ID: console_0002
Revises: console_0001
Create Date: 2025-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "console_0002"
down_revision = "console_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mention_id", sa.String(300), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_replies_mention_id", "console_replies", ["mention_id"])


def downgrade() -> None:
    op.drop_index("ix_console_replies_mention_id", table_name="console_replies")
    op.drop_table("console_replies")
