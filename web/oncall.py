"""On-call area: a placeholder page until its issue lands (its views will register beside this one)."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import roles

bp = Blueprint("oncall", __name__, url_prefix="/oncall")


@bp.get("/")
@roles("oncall", "supervisor", "admin")
def index() -> str:
    return render_template("placeholder.html", title="On-call")
