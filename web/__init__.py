"""The Flask console: `create_app(config)` builds one isolated app (its own database, feed hub, clock).

Areas are blueprints, one module each. Other areas' blueprints (the search API, the alerts page) are
registered when their module exists, so they can land without editing this file: see OPTIONAL_BLUEPRINTS.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from flask import Flask, jsonify, render_template
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from infra.db import make_engine, migrate, session_factory
from infra.settings import Settings
from web import security, verification
from web.context import Console, close_db, utc_now
from web.feed import FeedConsumer, FeedHub
from web.identity import IdentityPublisher, KafkaPublisher
from web.models import User
from web.replies import sender_for

log = logging.getLogger(__name__)

BLUEPRINTS = ("web.auth", "web.care", "web.customers", "web.cases", "web.admin", "web.oncall", "web.marketing")
# "module:attribute" of blueprints owned by other areas; each is registered if its module is present.
OPTIONAL_BLUEPRINTS = ("web.api:bp", "web.search:bp", "web.search.api:bp", "web.search_api:bp", "web.alerts:bp")


def _secret_key(settings: Settings) -> str:
    """LC_SECRET_KEY, else one generated once and kept (0600) in the runtime folder so sessions survive
    a restart."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.runtime_dir) / "console-secret-key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def create_app(config: Settings | None = None, **overrides: Any) -> Flask:
    """`overrides` are Flask config keys; the console's own: DATABASE_URL, MIGRATE (default True),
    START_FEED (default: not TESTING), CLOCK (a callable returning an aware datetime),
    IDENTITY_PUBLISHER, FEED_HUB."""
    settings = config or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=overrides.get("SECRET_KEY") or _secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="lc_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # one shift
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: agents keep the queue open all day
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        DATABASE_URL=settings.db_url,
        MIGRATE=True,
    )
    app.config.update(overrides)
    app.config.setdefault("START_FEED", not app.config.get("TESTING", False))

    engine = make_engine(app.config["DATABASE_URL"])
    if app.config["MIGRATE"]:
        migrate(app.config["DATABASE_URL"])
    identity: IdentityPublisher = app.config.get("IDENTITY_PUBLISHER") or KafkaPublisher(
        settings.kafka_bootstrap, settings.topic("identity.links")
    )
    state = Console(
        settings=settings,
        hub=app.config.get("FEED_HUB") or FeedHub(),
        sessions=session_factory(engine),
        identity=identity,
        clock=app.config.get("CLOCK") or utc_now,
        replies=app.config.get("REPLY_SENDER") or sender_for(settings.mastodon_url, settings.mastodon_token),
    )
    app.extensions["listening_center"] = state
    state.hub.listeners.append(verification.watcher(state.sessions, state.clock, state.identity))

    CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.session_protection = "strong"

    @login.user_loader
    def _load_user(user_id: str) -> User | None:
        with state.sessions() as session:
            user = session.get(User, int(user_id))
            return user if user is not None and user.active else None

    security.install(app)
    app.teardown_appcontext(close_db)

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)
    app.register_blueprint(importlib.import_module("web.rules_admin").bp)  # keyword rule sets (admin)
    app.register_blueprint(importlib.import_module("web.operator").bp)  # status page, /metrics (operators)
    for spec in OPTIONAL_BLUEPRINTS:
        module_name, attr = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        blueprint = getattr(module, attr, None)
        if blueprint is not None and blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)

    def search_unavailable(_exc: Exception) -> tuple[str, int]:
        # A page that reads Elasticsearch while it is down says so (503) instead of a server error; the JSON
        # API has its own handler (web/api.py).
        log.warning("a page could not reach Elasticsearch", exc_info=True)
        return render_template("unavailable.html"), 503

    app.register_error_handler(ESConnectionError, search_unavailable)
    app.register_error_handler(ConnectionTimeout, search_unavailable)

    @app.get("/healthz")
    @security.public
    def healthz() -> Any:
        consumer = state.consumer
        return jsonify(
            status="ok",
            feed={
                "published": state.hub.published,
                "subscribers": state.hub.subscriber_count,
                "consumer": "off" if consumer is None else ("ready" if consumer.ready.is_set() else "starting"),
            },
        )

    if app.config["START_FEED"]:
        state.consumer = FeedConsumer(state.hub, settings.kafka_bootstrap, settings.topic("mentions.scored"))
        state.consumer.start()
    return app
