"""What the console's views share: settings, the feed hub, the database, the clock and the identity
publisher, kept on the app (not in module globals) so every test builds a fresh, isolated app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session, sessionmaker

from infra.settings import Settings
from web.feed import FeedConsumer, FeedHub
from web.identity import IdentityPublisher
from web.replies import ByHand, ReplySender


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Console:
    settings: Settings
    hub: FeedHub
    sessions: sessionmaker[Session]
    identity: IdentityPublisher
    clock: Callable[[], datetime] = utc_now
    consumer: FeedConsumer | None = None
    replies: ReplySender = field(default_factory=ByHand)
    extra: dict[str, Any] = field(default_factory=dict)


def console() -> Console:
    found: Console = current_app.extensions["listening_center"]
    return found


def db() -> Session:
    """The request's session; closed (rolled back if uncommitted) when the request ends."""
    if "lc_session" not in g:
        g.lc_session = console().sessions()
    session: Session = g.lc_session
    return session


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("lc_session", None)
    if session is not None:
        session.close()


def now() -> datetime:
    return console().clock()
