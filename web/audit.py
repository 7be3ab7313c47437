"""The audit trail: who did what, when, with the state before and after. Entries are only ever added."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from web.models import AuditEntry, User


def _dump(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def record(
    session: Session,
    at: datetime,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor.id if actor else None,
        actor=actor.username if actor else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_dump(before),
        after=_dump(after),
    )
    session.add(entry)
    return entry
