"""console: accounts, loyalty directory, handle links, queue states, cases, corrections, audit trail

Revision ID: console_0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "console_0001"
down_revision = None
branch_labels = ("console",)
depends_on = None

UTC_DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
    )
    op.create_table(
        "console_members",
        sa.Column("loyalty_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
    )
    op.create_table(
        "console_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(256), nullable=False),
        sa.Column("loyalty_id", sa.String(32), sa.ForeignKey("console_members.loyalty_id"), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("linked_by", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("linked_at", UTC_DT, nullable=False),
    )
    op.create_table(
        "console_verification_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("loyalty_id", sa.String(32), sa.ForeignKey("console_members.loyalty_id"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.Column("used_at", UTC_DT, nullable=True),
    )
    op.create_index("ix_console_verification_codes_key", "console_verification_codes", ["key"])
    op.create_table(
        "console_mention_states",
        sa.Column("mention_id", sa.String(300), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("author_key", sa.String(300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_console_mention_states_author_key", "console_mention_states", ["author_key"])
    op.create_table(
        "console_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mention_id", sa.String(300), nullable=True),
        sa.Column("loyalty_id", sa.String(32), sa.ForeignKey("console_members.loyalty_id"), nullable=True),
        sa.Column("author_key", sa.String(300), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("apology", sa.Text(), nullable=False),
        sa.Column("compensation_kind", sa.String(16), nullable=False),
        sa.Column("compensation_cents", sa.Integer(), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("opened_by", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=True),
        sa.Column("opened_at", UTC_DT, nullable=False),
        sa.Column("first_response_at", UTC_DT, nullable=True),
        sa.Column("resolved_at", UTC_DT, nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
    )
    op.create_table(
        "console_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mention_id", sa.String(300), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("automatic", sa.String(64), nullable=False),
        sa.Column("corrected", sa.String(64), nullable=False),
        sa.Column("lexicon_version", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
    )
    op.create_index("ix_console_corrections_mention_id", "console_corrections", ["mention_id"])
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTC_DT, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
    )
    op.create_index("ix_console_audit_at", "console_audit", ["at"])


def downgrade() -> None:
    for index, table in [
        ("ix_console_audit_at", "console_audit"),
        ("ix_console_corrections_mention_id", "console_corrections"),
        ("ix_console_mention_states_author_key", "console_mention_states"),
        ("ix_console_verification_codes_key", "console_verification_codes"),
    ]:
        op.drop_index(index, table_name=table)
    for table in [
        "console_audit",
        "console_corrections",
        "console_cases",
        "console_mention_states",
        "console_verification_codes",
        "console_links",
        "console_members",
        "console_users",
    ]:
        op.drop_table(table)
