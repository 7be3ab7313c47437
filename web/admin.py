"""Administration: accounts and roles (admin only), and the audit trail (supervisors and admins, read only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from web import audit as audit_log
from web.accounts import AccountError, create_user
from web.context import db, now
from web.models import AuditEntry, User
from web.security import OVERSIGHT, ROLES, roles

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles("admin")
def index() -> str:
    users = list(db().scalars(sa.select(User).order_by(User.username)))
    return render_template("admin_users.html", users=users, roles=ROLES, form={}, error="")


@bp.post("/users")
@roles("admin")
def add_user() -> str | Response:
    form = {k: request.form.get(k, "").strip() for k in ("username", "role")}
    password = request.form.get("password", "")
    session = db()
    try:
        user = create_user(session, form["username"], form["role"], password, now())
    except AccountError as exc:
        session.rollback()
        users = list(session.scalars(sa.select(User).order_by(User.username)))
        return render_template("admin_users.html", users=users, roles=ROLES, form=form, error=str(exc)), 400  # type: ignore[return-value]
    audit_log.record(
        session,
        now(),
        current_user,
        "user.create",
        "user",
        str(user.id),
        None,
        {"username": user.username, "role": user.role},
    )
    session.commit()
    flash(f"Created {user.username} ({user.role}).", "ok")
    return redirect(url_for("admin.index"))


@bp.post("/users/<int:user_id>/role")
@roles("admin")
def set_role(user_id: int) -> Response:
    session = db()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    role = request.form.get("role", "")
    active = request.form.get("active", "yes") == "yes"
    if role not in ROLES:
        flash(f"unknown role {role!r}", "error")
        return redirect(url_for("admin.index"))
    if user.id == current_user.id and (role != "admin" or not active):
        flash("You cannot remove your own admin rights: ask another admin.", "error")
        return redirect(url_for("admin.index"))
    before = {"role": user.role, "active": user.active}
    user.role, user.active = role, active
    audit_log.record(
        session, now(), current_user, "user.role", "user", str(user.id), before, {"role": role, "active": active}
    )
    session.commit()
    flash(f"{user.username} is now {role}{'' if active else ' (disabled)'}.", "ok")
    return redirect(url_for("admin.index"))


@bp.get("/audit")
@roles(*OVERSIGHT)
def audit() -> str:
    kind = request.args.get("type", "").strip()[:32]
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(500)
    if kind:
        query = query.where(AuditEntry.object_type == kind)
    return render_template("audit.html", entries=list(db().scalars(query)), kind=kind)
