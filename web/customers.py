"""The loyalty directory, handle links (published to identity.links), verification codes and profiles."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from stream.schema import IdentityLink, ScoredMention, format_time, link_key
from web import audit
from web.context import console, db, now
from web.directory import (
    PLATFORMS,
    TIERS,
    MemberImportError,
    check_handle,
    check_member,
    clean_handle,
    parse_members,
)
from web.models import Case, HandleLink, Member, MentionState, VerificationCode
from web.security import STAFF, roles

bp = Blueprint("customers", __name__, url_prefix="/customers")

CODE_LIFETIME = timedelta(hours=24)


def _pattern() -> str:
    pattern: str = current_app.config.get("LOYALTY_ID_PATTERN") or console().settings.loyalty_id_pattern
    return pattern


def _link_dict(link: HandleLink) -> dict[str, Any]:
    return {"platform": link.platform, "handle": link.handle, "loyalty_id": link.loyalty_id, "verified": link.verified}


@bp.get("/")
@roles(*STAFF)
def index() -> str:
    q = request.args.get("q", "").strip()[:100]
    query = sa.select(Member).order_by(Member.name).limit(200)
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(Member.name.ilike(like), Member.loyalty_id.ilike(like), Member.email.ilike(like)))
    members = list(db().scalars(query))
    return render_template("customers.html", members=members, q=q, tiers=TIERS, form={}, errors=[])


@bp.post("/")
@roles(*STAFF)
def add() -> str | Response:
    form = {k: request.form.get(k, "").strip() for k in ("loyalty_id", "name", "tier", "email")}
    form["loyalty_id"] = form["loyalty_id"].upper()
    errors = check_member(form["loyalty_id"], form["name"], form["tier"], form["email"], _pattern())
    session = db()
    if not errors and session.get(Member, form["loyalty_id"]) is not None:
        errors.append(f"loyalty ID {form['loyalty_id']} exists already")
    if errors:
        members = list(session.scalars(sa.select(Member).order_by(Member.name).limit(200)))
        return render_template("customers.html", members=members, q="", tiers=TIERS, form=form, errors=errors), 400  # type: ignore[return-value]
    at = now()
    session.add(Member(created_at=at, **form))
    audit.record(session, at, current_user, "member.create", "member", form["loyalty_id"], None, form)
    session.commit()
    return redirect(url_for("customers.profile", loyalty_id=form["loyalty_id"]))


@bp.post("/import")
@roles("supervisor", "admin")
def import_csv() -> Response:
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
    try:
        rows = parse_members(text, _pattern())
    except MemberImportError as exc:
        for problem in exc.problems[:50]:
            flash(problem, "error")
        flash("Nothing was imported: fix the lines above and try again.", "error")
        return redirect(url_for("customers.index"))
    session = db()
    at = now()
    for row in rows:
        existing = session.get(Member, row.loyalty_id)
        if existing is None:
            session.add(Member(loyalty_id=row.loyalty_id, name=row.name, tier=row.tier, email=row.email, created_at=at))
        else:
            existing.name, existing.tier, existing.email = row.name, row.tier, row.email
    audit.record(session, at, current_user, "member.import", "member", "*", None, {"rows": len(rows)})
    session.commit()
    flash(f"Imported {len(rows)} members.", "ok")
    return redirect(url_for("customers.index"))


@bp.get("/<loyalty_id>")
@roles(*STAFF)
def profile(loyalty_id: str) -> str:
    return _profile_page(loyalty_id)


def _profile_page(loyalty_id: str, typed: dict[str, str] | None = None, errors: list[str] | None = None) -> str:
    """`typed`/`errors`: a refused link or code form, shown again with what the agent typed."""
    session = db()
    member = session.get(Member, loyalty_id)
    if member is None:
        abort(404)
    links = list(session.scalars(sa.select(HandleLink).where(HandleLink.loyalty_id == loyalty_id)))
    keys = [link.key for link in links]
    rows = (
        list(
            session.scalars(
                sa.select(MentionState)
                .where(MentionState.author_key.in_(keys))
                .order_by(MentionState.updated_at.desc())
            )
        )
        if keys
        else []
    )
    mentions = [(ScoredMention.from_json(r.payload), r.state) for r in rows if r.payload]
    cases = list(
        session.scalars(
            sa.select(Case)
            .where(sa.or_(Case.loyalty_id == loyalty_id, Case.author_key.in_(keys)))
            .order_by(Case.opened_at.desc())
        )
    )
    codes = list(
        session.scalars(
            sa.select(VerificationCode).where(
                VerificationCode.loyalty_id == loyalty_id,
                VerificationCode.used_at.is_(None),
                VerificationCode.expires_at > now(),
            )
        )
    )
    sentiment = [(s.mention.created_at[:10], s.sentiment.compound) for s, _ in reversed(mentions)]
    return render_template(
        "profile.html",
        member=member,
        links=links,
        mentions=mentions,
        cases=cases,
        codes=codes,
        platforms=PLATFORMS,
        sentiment=sentiment,
        typed=typed or {},
        errors=errors or [],
    )


@bp.post("/<loyalty_id>/links")
@roles(*STAFF)
def link(loyalty_id: str) -> Response:
    session = db()
    member = session.get(Member, loyalty_id)
    if member is None:
        abort(404)
    platform = request.form.get("platform", "").strip().lower()
    handle = clean_handle(request.form.get("handle", ""))
    problems = check_handle(platform, handle)
    key = link_key(platform, handle)
    existing = session.scalar(sa.select(HandleLink).where(HandleLink.key == key))
    if existing is not None:
        problems.append(f"@{handle} on {platform} is already linked to {existing.loyalty_id}: unlink it first")
    if problems:
        return _refused(loyalty_id, problems)
    _create_link(member, platform, handle, verified=False)
    session.commit()
    flash(f"Linked @{handle} on {platform} (not verified yet).", "ok")
    return redirect(url_for("customers.profile", loyalty_id=loyalty_id))


def _refused(loyalty_id: str, problems: list[str]) -> Response:
    typed = {"platform": request.form.get("platform", ""), "handle": request.form.get("handle", "")}
    return Response(_profile_page(loyalty_id, typed, problems), status=400)


def _create_link(member: Member, platform: str, handle: str, verified: bool) -> HandleLink:
    """Adds the row, then publishes; the caller commits only after the broker took the link."""
    session = db()
    at = now()
    row = HandleLink(
        key=link_key(platform, handle),
        platform=platform,
        handle=handle,
        loyalty_id=member.loyalty_id,
        verified=verified,
        linked_by=current_user.id,
        linked_at=at,
    )
    session.add(row)
    session.flush()
    audit.record(session, at, current_user, "link.create", "link", row.key, None, _link_dict(row))
    console().identity.link(
        IdentityLink(
            platform=platform,
            handle=handle,
            loyalty_id=member.loyalty_id,
            linked_at=format_time(at),
            tier=member.tier,
            verified=verified,
        )
    )
    return row


@bp.post("/links/<int:link_id>/unlink")
@roles(*STAFF)
def unlink(link_id: int) -> Response:
    session = db()
    row = session.get(HandleLink, link_id)
    if row is None:
        abort(404)
    before = _link_dict(row)
    loyalty_id = row.loyalty_id
    audit.record(session, now(), current_user, "link.delete", "link", row.key, before, None)
    session.delete(row)
    session.flush()
    console().identity.unlink(row.platform, row.handle)
    session.commit()
    flash(f"Unlinked @{before['handle']} on {before['platform']}.", "ok")
    return redirect(url_for("customers.profile", loyalty_id=loyalty_id))


@bp.post("/<loyalty_id>/codes")
@roles(*STAFF)
def new_code(loyalty_id: str) -> Response:
    """A one-time code the customer posts from their handle; seeing it confirms the link as verified."""
    session = db()
    if session.get(Member, loyalty_id) is None:
        abort(404)
    platform = request.form.get("platform", "").strip().lower()
    handle = clean_handle(request.form.get("handle", ""))
    problems = check_handle(platform, handle)
    if problems:
        return _refused(loyalty_id, problems)
    at = now()
    code = "LC-" + secrets.token_hex(4).upper()
    key = link_key(platform, handle)
    session.add(
        VerificationCode(
            key=key,
            loyalty_id=loyalty_id,
            code=code,
            created_by=current_user.id,
            created_at=at,
            expires_at=at + CODE_LIFETIME,
        )
    )
    # Who asked which handle to prove itself, and for whom: the verification entry later names the code.
    after = {"loyalty_id": loyalty_id, "code": code, "expires_at": (at + CODE_LIFETIME).isoformat()}
    audit.record(session, at, current_user, "link.code", "link", key, None, after)
    session.commit()
    flash(f"Ask @{handle} to post or send {code} within 24 hours.", "ok")
    return redirect(url_for("customers.profile", loyalty_id=loyalty_id))
