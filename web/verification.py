"""Verified linking: a mention from a handle that contains the one-time code issued for that handle
confirms the link (creating it if needed) and marks it verified."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from infra.db import transaction
from stream.schema import IdentityLink, ScoredMention, format_time, link_key
from web import audit
from web.identity import IdentityPublisher
from web.models import HandleLink, Member, VerificationCode

log = logging.getLogger(__name__)

CODE = re.compile(r"\bLC-[0-9A-F]{8}\b", re.IGNORECASE)


def confirm_codes(session: Session, scored: ScoredMention, at: datetime, publisher: IdentityPublisher) -> list[str]:
    """Returns the keys it verified. Only codes issued for this very handle count, and only until they expire."""
    found = {c.upper() for c in CODE.findall(scored.mention.text)}
    if not found:
        return []
    key = link_key(scored.mention.platform, scored.mention.author_handle)
    codes = session.scalars(
        sa.select(VerificationCode).where(
            VerificationCode.code.in_(found),
            VerificationCode.key == key,
            VerificationCode.used_at.is_(None),
            VerificationCode.expires_at > at,
        )
    ).all()
    verified = []
    for code in codes:
        member = session.get(Member, code.loyalty_id)
        if member is None:
            continue
        link = session.scalar(sa.select(HandleLink).where(HandleLink.key == key))
        if link is not None and link.loyalty_id != code.loyalty_id:
            log.warning("code %s for %s ignored: the handle is linked to another member", code.code, key)
            continue
        code.used_at = at
        before = None
        handle = scored.mention.author_handle.lstrip("@")
        if link is None:
            link = HandleLink(
                key=key,
                platform=scored.mention.platform.lower(),
                handle=handle,
                loyalty_id=code.loyalty_id,
                verified=True,
                linked_by=code.created_by,
                linked_at=at,
            )
            session.add(link)
        else:
            before = {"verified": link.verified}
            link.verified = True
        session.flush()
        audit.record(
            session,
            at,
            None,
            "link.verify",
            "link",
            key,
            before,
            {"loyalty_id": code.loyalty_id, "verified": True, "code": code.code},
        )
        publisher.link(
            IdentityLink(
                platform=link.platform,
                handle=link.handle,
                loyalty_id=code.loyalty_id,
                linked_at=format_time(at),
                tier=member.tier,
                verified=True,
            )
        )
        verified.append(key)
    return verified


def watcher(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], publisher: IdentityPublisher
) -> Callable[[ScoredMention], None]:
    def on_mention(scored: ScoredMention) -> None:
        if not CODE.search(scored.mention.text):
            return  # the common case costs one regex scan, no query
        with transaction(sessions) as session:
            confirm_codes(session, scored, clock(), publisher)

    return on_mention
