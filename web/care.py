"""The live care queue: the home page, its server-sent event stream, and the agents' actions on a mention."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stream.schema import ScoredMention, link_key
from web.context import console, db, now
from web.feed import HEARTBEAT_SECONDS, sse_stream
from web.models import Case, Correction, HandleLink, Member, MentionState, Reply, User
from web.queue_states import QueueState, TransitionError, assign, transition
from web.replies import TEMPLATES, check_reply
from web.replies import render_template as render_template_text
from web.security import OVERSIGHT, ROLES, STAFF, roles

bp = Blueprint("care", __name__)

SENTIMENTS = ("negative", "neutral", "positive")


@cache
def category_names() -> tuple[str, ...]:
    """The scorer's taxonomy, read (not computed) so a correction names a category the scorer knows."""
    from stream.scoring.categories import load_taxonomy

    return tuple(sorted(c.name for c in load_taxonomy().categories))


def queue_rank(mention_id: str, score: float, recent: list[ScoredMention]) -> tuple[int, int]:
    """(position by priority, queue length) among the mentions the live queue holds now."""
    others = [s for s in recent if s.mention.id != mention_id]
    return 1 + sum(1 for s in others if s.priority.score > score), len(others) + 1


def _state_event(row: MentionState, names: dict[int, str]) -> dict[str, Any]:
    return {
        "mention_id": row.mention_id,
        "state": row.state,
        "assignee": names.get(row.assignee_id or 0, ""),
        "reason": row.reason,
    }


def _user_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db().execute(sa.select(User.id, User.username).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


@bp.get("/")
@roles(*ROLES)
def queue() -> str:
    # getattr: with LOGIN_DISABLED (an end-to-end test of the feed alone) the user is anonymous.
    return render_template("queue.html", can_act=getattr(current_user, "role", None) in STAFF)


@bp.get("/feed/stream")
@roles(*ROLES)
def feed_stream() -> Response:
    hub = console().hub
    ids = [s.mention.id for s in hub.recent()]
    rows = list(db().scalars(sa.select(MentionState).where(MentionState.mention_id.in_(ids)))) if ids else []
    names = _user_names({r.assignee_id for r in rows if r.assignee_id})
    initial = {r.mention_id: _state_event(r, names) for r in rows}
    db().close()  # the stream may stay open for hours: do not hold a connection for it
    stream = sse_stream(
        hub,
        initial,
        heartbeat=current_app.config.get("FEED_HEARTBEAT", HEARTBEAT_SECONDS),
        max_events=current_app.config.get("FEED_MAX_EVENTS"),
        max_idle=current_app.config.get("FEED_MAX_IDLE"),
    )
    return Response(
        stream,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _load_mention(mention_id: str) -> tuple[ScoredMention | None, MentionState | None]:
    row = db().get(MentionState, mention_id)
    if row is not None and row.payload:
        return ScoredMention.from_json(row.payload), row
    return console().hub.find(mention_id), row


@bp.post("/mentions/<path:mention_id>/<any(take, release, reply, resolve, ignore, reopen):action>")
@roles(*STAFF)
def act(mention_id: str, action: str) -> tuple[Response, int]:
    body = request.get_json(silent=True) or request.form
    return _apply(mention_id, action, str(body.get("reason", ""))[:500])


@bp.post("/mentions/<path:mention_id>/assign")
@roles(*OVERSIGHT)
def assign_to(mention_id: str) -> tuple[Response, int]:
    """A supervisor hands the mention to one of the care staff (who then holds it like a take)."""
    body = request.get_json(silent=True) or request.form
    name = str(body.get("to", "")).strip()[:64]
    user = db().scalar(sa.select(User).where(User.username == name, User.active.is_(True)))
    if user is None or user.role not in STAFF:
        return jsonify(error=f"{name or 'nobody'} is not an active agent"), 400
    return _apply(mention_id, "assign", assignee_id=user.id)


def _apply(
    mention_id: str,
    action: str,
    reason: str = "",
    also: Callable[[Session], None] | None = None,
    assignee_id: int | None = None,
) -> tuple[Response, int]:
    """One queue action under an optimistic lock; `also` adds rows to the same transaction."""
    scored, row = _load_mention(mention_id)
    if scored is None:
        return jsonify(error="this mention is no longer in the queue"), 404
    current = QueueState(row.state, row.assignee_id, row.reason) if row else QueueState()
    try:
        if action == "assign":
            assert assignee_id is not None
            nxt = assign(current, current_user.role, assignee_id)
        else:
            nxt = transition(current, action, current_user.id, current_user.role, reason)
    except TransitionError as exc:
        return jsonify(error=str(exc), conflict=exc.conflict), 409 if exc.conflict else 400
    session = db()
    at = now()
    if row is None:
        row = MentionState(
            mention_id=mention_id,
            state=nxt.state,
            assignee_id=nxt.assignee_id,
            reason=nxt.reason,
            brand=scored.mention.brand,
            author_key=link_key(scored.mention.platform, scored.mention.author_handle),
            payload=scored.to_json().decode(),
            updated_at=at,
            version=1,
        )
        session.add(row)
        if also is not None:
            also(session)
        try:
            session.commit()
        except IntegrityError:  # another agent's first action won the race
            session.rollback()
            return jsonify(error="someone else took this mention already", conflict=True), 409
    else:
        # Optimistic lock: the update only lands if nobody changed the row since we read it.
        result = session.execute(
            sa.update(MentionState)
            .where(MentionState.mention_id == mention_id, MentionState.version == row.version)
            .values(
                state=nxt.state, assignee_id=nxt.assignee_id, reason=nxt.reason, updated_at=at, version=row.version + 1
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return jsonify(error="someone else changed this mention first", conflict=True), 409
        if also is not None:
            also(session)
        session.commit()
        session.expire_all()
        row = session.get(MentionState, mention_id)
        assert row is not None
    event = _state_event(row, _user_names({row.assignee_id} if row.assignee_id else set()))
    console().hub.publish_state(event)
    return jsonify(event), 200


@bp.post("/mentions/<path:mention_id>/send-reply")
@roles(*STAFF)
def send_reply(mention_id: str) -> tuple[Response, int]:
    """Send (or record to send by hand) the agent's reply; the mention moves to replied."""
    scored, row = _load_mention(mention_id)
    if scored is None:
        return jsonify(error="this mention is no longer in the queue"), 404
    body = request.get_json(silent=True) or request.form
    text = str(body.get("text", ""))
    problem = check_reply(text)
    if problem:
        return jsonify(error=problem), 400
    current = QueueState(row.state, row.assignee_id, row.reason) if row else QueueState()
    try:  # checked before sending: nothing goes out for a mention this agent does not hold
        transition(current, "reply", current_user.id, current_user.role)
    except TransitionError as exc:
        return jsonify(error=str(exc), conflict=exc.conflict), 409 if exc.conflict else 400
    sent = console().replies.send(scored.mention.platform, scored.mention.url, text)
    user_id, at = current_user.id, now()

    def record(session: Session) -> None:
        session.add(
            Reply(
                mention_id=mention_id,
                user_id=user_id,
                text=text,
                status=sent.status,
                reference=sent.reference,
                created_at=at,
            )
        )

    resp, status = _apply(mention_id, "reply", also=record)
    if status == 200:
        payload = resp.get_json()
        payload.update(reply_status=sent.status, text=text, reference=sent.reference)
        return jsonify(payload), 200
    return resp, status


@bp.get("/mentions/<path:mention_id>")
@roles(*STAFF)
def mention(mention_id: str) -> str:
    scored, row = _load_mention(mention_id)
    if scored is None:
        abort(404)
    session = db()
    key = link_key(scored.mention.platform, scored.mention.author_handle)
    link = session.scalar(sa.select(HandleLink).where(HandleLink.key == key))
    member = session.get(Member, link.loyalty_id) if link else None
    earlier = list(
        session.scalars(
            sa.select(MentionState)
            .where(MentionState.author_key == key, MentionState.mention_id != mention_id)
            .order_by(MentionState.updated_at.desc())
            .limit(20)
        )
    )
    cases = list(session.scalars(sa.select(Case).where(Case.author_key == key).order_by(Case.opened_at.desc())))
    assignee = session.get(User, row.assignee_id) if row and row.assignee_id else None
    rank, queued = queue_rank(mention_id, scored.priority.score, console().hub.recent())
    staff = (
        list(session.scalars(sa.select(User.username).where(User.active.is_(True), User.role.in_(STAFF)).order_by(
            User.username)))
        if current_user.role in OVERSIGHT
        else []
    )
    return render_template(
        "mention.html",
        scored=scored,
        state=row.state if row else "new",
        assignee=assignee.username if assignee else "",
        reason=row.reason if row else "",
        link=link,
        member=member,
        earlier=[ScoredMention.from_json(r.payload) for r in earlier if r.payload],
        cases=cases,
        sentiments=SENTIMENTS,
        categories=category_names(),
        rank=rank,
        queued=queued,
        staff=staff,
        replies=list(session.scalars(sa.select(Reply).where(Reply.mention_id == mention_id).order_by(Reply.id))),
        templates={k: render_template_text(k, scored.mention.author_handle) for k in TEMPLATES},
    )


@bp.post("/mentions/<path:mention_id>/correct")
@roles(*STAFF)
def correct(mention_id: str) -> tuple[Response, int]:
    scored, _row = _load_mention(mention_id)
    if scored is None:
        return jsonify(error="this mention is no longer in the queue"), 404
    body = request.get_json(silent=True) or request.form
    field = str(body.get("field", ""))
    value = str(body.get("value", "")).strip()[:64]
    if field == "sentiment":
        if value not in SENTIMENTS:
            return jsonify(error=f"sentiment must be one of {', '.join(SENTIMENTS)}"), 400
        automatic = scored.sentiment.label
    elif field == "category":
        if value not in (*category_names(), "none"):
            return jsonify(error="say which category is right: one the scorer knows, or none"), 400
        automatic = ",".join(scored.categories)
    else:
        return jsonify(error="only sentiment or category can be corrected"), 400
    session = db()
    session.add(
        Correction(
            mention_id=mention_id,
            brand=scored.mention.brand,
            field=field,
            automatic=automatic,
            corrected=value,
            lexicon_version=scored.lexicon_version,
            user_id=current_user.id,
            created_at=now(),
        )
    )
    session.commit()
    return jsonify(mention_id=mention_id, field=field, automatic=automatic, corrected=value), 200


def agrees(field: str, automatic: str, corrected: str) -> bool:
    """A person confirms the scorer when they pick its label; for categories (the scorer may give several,
    stored comma-joined) when the one they pick is among them, or both say none."""
    if field == "category":
        given = [c for c in automatic.split(",") if c]
        return corrected in given or (corrected == "none" and not given)
    return automatic == corrected


@bp.get("/quality")
@roles(*ROLES)
def quality() -> str:
    """How often people agreed with the automatic judgement, per brand, field and lexicon version."""
    rows = db().execute(
        sa.select(
            Correction.brand, Correction.field, Correction.lexicon_version, Correction.automatic,
            Correction.corrected, sa.func.count(),
        ).group_by(
            Correction.brand, Correction.field, Correction.lexicon_version, Correction.automatic,
            Correction.corrected,
        )
    )
    totals: dict[tuple[str, str, str], list[int]] = {}
    for brand, field, lexicon, automatic, corrected, n in rows:
        counts = totals.setdefault((brand or "(none)", field, lexicon), [0, 0])
        counts[0] += n
        counts[1] += n if agrees(field, automatic, corrected) else 0
    table = [
        {"brand": b, "field": f, "lexicon": lv, "reviewed": n, "agreed": a, "rate": a / n if n else 0.0}
        for (b, f, lv), (n, a) in sorted(totals.items())
    ]
    return render_template("quality.html", rows=table)
