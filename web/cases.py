"""Cases."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import STAFF, roles

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.get("/")
@roles(*STAFF)
def index() -> str:
    return render_template("placeholder.html", title="Cases")
