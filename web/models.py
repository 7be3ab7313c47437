"""The console's tables: accounts, the loyalty directory and handle links, queue states, cases, corrections
and the audit trail. Migration: infra/migrations/versions/console_0001_tables.py (branch "console").

Times are stored as timezone-aware UTC; money as integer cents so sums are exact on every database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from infra.db import Base


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out: SQLite drops the zone, PostgreSQL keeps it; both read back the same."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class User(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    # Flask-Login's protocol, written out rather than inherited so the model stays plain.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Member(Base):
    """A loyalty programme member, imported from the loyalty system's CSV export."""

    __tablename__ = "console_members"

    loyalty_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    tier: Mapped[str] = mapped_column(sa.String(32))
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HandleLink(Base):
    """One social handle belongs to at most one member (unique key); a member may have several."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300), unique=True)  # stream.schema.link_key
    platform: Mapped[str] = mapped_column(sa.String(32))
    handle: Mapped[str] = mapped_column(sa.String(256))
    loyalty_id: Mapped[str] = mapped_column(sa.ForeignKey("console_members.loyalty_id"))
    verified: Mapped[bool] = mapped_column(default=False)
    linked_by: Mapped[int] = mapped_column(sa.ForeignKey("console_users.id"))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class VerificationCode(Base):
    __tablename__ = "console_verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300), index=True)
    loyalty_id: Mapped[str] = mapped_column(sa.ForeignKey("console_members.loyalty_id"))
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("console_users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class MentionState(Base):
    """Where a mention is in the care queue. A row exists only once someone acted on it (new = no row).

    `payload` keeps the ScoredMention JSON so the mention view works without the feed buffer.
    """

    __tablename__ = "console_mention_states"

    mention_id: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("console_users.id"), default=None)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    brand: Mapped[str] = mapped_column(sa.String(64), default="")
    author_key: Mapped[str] = mapped_column(sa.String(300), default="", index=True)
    payload: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(default=1)  # optimistic lock: two agents cannot both take it


class Case(Base):
    __tablename__ = "console_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    loyalty_id: Mapped[str | None] = mapped_column(sa.ForeignKey("console_members.loyalty_id"), default=None)
    author_key: Mapped[str] = mapped_column(sa.String(300), default="")
    category: Mapped[str] = mapped_column(sa.String(64))
    severity: Mapped[str] = mapped_column(sa.String(16))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    apology: Mapped[str] = mapped_column(sa.Text, default="")
    compensation_kind: Mapped[str] = mapped_column(sa.String(16), default="none")
    compensation_cents: Mapped[int] = mapped_column(default=0)  # value, whatever the kind
    follow_up_on: Mapped[date | None] = mapped_column(sa.Date, default=None)
    state: Mapped[str] = mapped_column(sa.String(24))
    outcome: Mapped[str] = mapped_column(sa.String(32), default="")
    opened_by: Mapped[int] = mapped_column(sa.ForeignKey("console_users.id"))
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("console_users.id"), default=None)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Correction(Base):
    """A person overruled the stream's judgement; kept with the lexicon version it applies to."""

    __tablename__ = "console_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[str] = mapped_column(sa.String(300), index=True)
    brand: Mapped[str] = mapped_column(sa.String(64), default="")
    field: Mapped[str] = mapped_column(sa.String(16))  # sentiment | category
    automatic: Mapped[str] = mapped_column(sa.String(64))
    corrected: Mapped[str] = mapped_column(sa.String(64))
    lexicon_version: Mapped[str] = mapped_column(sa.String(64), default="")
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("console_users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Append-only: the ORM refuses updates and deletes (see the mapper events below)."""

    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("console_users.id"), default=None)
    actor: Mapped[str] = mapped_column(sa.String(64))  # the name, kept even if the account is renamed
    action: Mapped[str] = mapped_column(sa.String(32))
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str] = mapped_column(sa.String(300))
    before: Mapped[str] = mapped_column(sa.Text, default="")  # JSON
    after: Mapped[str] = mapped_column(sa.Text, default="")  # JSON


class AuditImmutableError(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(_mapper: Mapper[Any], _conn: sa.Connection, target: AuditEntry) -> None:
    raise AuditImmutableError(f"audit entry {target.id} cannot be changed or deleted")


class Reply(Base):
    __tablename__ = "console_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[str] = mapped_column(sa.String(300), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("console_users.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))  # sent | to_send_by_hand
    reference: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
