"""Who may open what, and the headers every response carries.

Access is deny-by-default: a view must declare its roles with `@roles(...)` or be marked `@public`;
`check_access` runs before every request and refuses any view that declares neither. So a route that an
engineer forgets to annotate is closed, not open, and the route-enumerating test catches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

ROLES = ("agent", "supervisor", "marketing", "oncall", "admin")
STAFF = ("agent", "supervisor", "admin")  # people who work the care queue
OVERSIGHT = ("supervisor", "admin")  # who sees the audit trail and approves cases

F = TypeVar("F", bound=Callable[..., Any])

# No inline script or style anywhere: all JS and CSS are static files from this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def roles(*allowed: str) -> Callable[[F], F]:
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def mark(view: F) -> F:
        view.lc_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    view.lc_public = True  # type: ignore[attr-defined]
    return view


def view_roles(view: Callable[..., Any]) -> frozenset[str] | None:
    """The roles a view admits, or None when it is public."""
    if getattr(view, "lc_public", False):
        return None
    found: frozenset[str] = getattr(view, "lc_roles", frozenset())
    return found


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def check_access() -> Response | None:
    if request.endpoint is None:
        return None  # 404/405 come from routing itself
    if request.endpoint == "static":
        return None
    view = current_app.view_functions[request.endpoint]
    allowed = view_roles(view)
    if allowed is None:
        return None
    if current_app.config.get("LOGIN_DISABLED"):
        return None
    if not current_user.is_authenticated:
        if _wants_json() or request.method not in ("GET", "HEAD"):
            resp = jsonify(error="login required")
            resp.status_code = 401
            return resp
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in allowed:
        abort(403)
    return None


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        # Pages carry customer data: no shared caches, no back-button copies after logout.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Flask) -> None:
    app.before_request(check_access)
    app.after_request(add_security_headers)
