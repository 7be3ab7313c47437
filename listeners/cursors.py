"""Durable listener cursors and listener state, in the product's SQL database.

A cursor (since-id, Jetstream time cursor, ETag...) is written only after Kafka acknowledged everything
before it, so a restarted listener resumes exactly where the acknowledged stream ends. The state row is
what `listening-center status` reads: last post time, last error, counts, the platform quota left.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from infra.db import Base, transaction
from listeners.sources.base import SourceState


class ListenerCursor(Base):
    __tablename__ = "listener_cursors"

    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class ListenerStateRow(Base):
    __tablename__ = "listener_states"

    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    last_post_at: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    items: Mapped[int] = mapped_column(sa.Integer, default=0)
    dead: Mapped[int] = mapped_column(sa.Integer, default=0)
    dropped: Mapped[int] = mapped_column(sa.Integer, default=0)
    quota_left: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class CursorStore:
    """The cursors and state of one source (several listeners of a kind use distinct source names)."""

    def __init__(self, factory: sessionmaker[Session], source: str) -> None:
        self.factory = factory
        self.source = source

    def load(self) -> dict[str, str]:
        with self.factory() as session:
            rows = session.scalars(sa.select(ListenerCursor).where(ListenerCursor.source == self.source))
            return {row.key: row.value for row in rows}

    def save(self, cursors: dict[str, str], now: datetime) -> None:
        """Store several cursors in one transaction: a batch's cursors advance together or not at all."""
        if not cursors:
            return
        with transaction(self.factory) as session:
            for key, value in cursors.items():
                session.merge(ListenerCursor(source=self.source, key=key, value=value, updated_at=now))

    def save_state(self, state: SourceState, now: datetime) -> None:
        values = asdict(state)
        values.pop("source")
        with transaction(self.factory) as session:
            session.merge(ListenerStateRow(source=self.source, updated_at=now, **values))


def read_states(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Every listener's last reported state, for `status` and the console."""
    with factory() as session:
        rows = session.scalars(sa.select(ListenerStateRow).order_by(ListenerStateRow.source))
        return [
            {col.name: getattr(row, col.name) for col in ListenerStateRow.__table__.columns}
            for row in rows
        ]
