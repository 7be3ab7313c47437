"""Marketing area: a placeholder page until its issue lands (its views will register beside this one)."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import roles

bp = Blueprint("marketing", __name__, url_prefix="/marketing")


@bp.get("/")
@roles("marketing", "supervisor", "admin")
def index() -> str:
    return render_template("placeholder.html", title="Marketing")
