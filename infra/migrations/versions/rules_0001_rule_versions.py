"""rules: versioned rule sets edited in the console and published to listen.rules

Revision ID: rules_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "rules_0001"
down_revision = None
branch_labels = ("rules",)
depends_on = None

UTC_DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "listener_rule_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("published_at", UTC_DT, nullable=True),
        sa.UniqueConstraint("name", "version", name="uq_listener_rule_versions_name_version"),
    )
    op.create_index("ix_listener_rule_versions_name", "listener_rule_versions", ["name"])


def downgrade() -> None:
    op.drop_index("ix_listener_rule_versions_name", table_name="listener_rule_versions")
    op.drop_table("listener_rule_versions")
