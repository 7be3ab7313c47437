"""Admin."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import roles

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles("admin")
def index() -> str:
    return render_template("placeholder.html", title="Admin")


@bp.get("/audit")
@roles("supervisor", "admin")
def audit() -> str:
    return render_template("placeholder.html", title="Audit")
