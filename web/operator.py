"""Operators' view of the running product: the `listening-center status` report as a page (admin only),
and the process's Prometheus metrics.

/metrics is for a scraper, which cannot log in: it answers requests from this machine (loopback) and
logged-in admins, and is a 404 for everyone else, so the console's port can face the network without
publishing its internals. Put Prometheus on the same host, or scrape the other components' own metrics
ports (infra/metrics.py); a reverse proxy in front of the console must not pass /metrics through, since
the console would see the proxy's loopback address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from infra import metrics as lc_metrics
from infra import status
from infra.settings import Settings
from web.context import console, now
from web.security import public, roles

bp = Blueprint("operator", __name__)
LOOPBACK = {"127.0.0.1", "::1"}


def _report() -> status.Report:
    # OPERATOR_REPORT lets a test hand in a report built from chosen facts; the default asks the engines.
    make: Callable[[Settings], status.Report] | None = current_app.config.get("OPERATOR_REPORT")
    if make is not None:
        return make(console().settings)
    return status.report(console().settings, now())


@bp.get("/operator/")
@roles("admin")
def page() -> tuple[str, int]:
    rep = _report()
    # 503 when unhealthy, like the command's exit code, so a browser-based check sees it too.
    return render_template("operator.html", report=rep), 200 if rep.healthy else 503


@bp.get("/operator/status.json")
@roles("admin")
def status_json() -> tuple[Any, int]:
    rep = _report()
    return jsonify(rep.to_dict()), 200 if rep.healthy else 503


@bp.get("/metrics")
@public
def metrics() -> Response:
    admin = current_user.is_authenticated and current_user.role == "admin"
    if request.remote_addr not in LOOPBACK and not admin:
        abort(404)
    hub = console().hub
    lc_metrics.FEED_PUBLISHED.set(hub.published)
    lc_metrics.FEED_SUBSCRIBERS.set(hub.subscriber_count)
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
