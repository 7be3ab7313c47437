"""Helpers shared by the console's unit tests: a fresh app on a temporary SQLite database per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from infra.db import migrate, transaction
from infra.settings import Settings
from stream.schema import Mention, Priority, ScoredMention, Sentiment
from web import create_app
from web.context import Console
from web.identity import RecordingPublisher
from web.models import User

PASSWORD = "correct horse battery staple"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


_TEMPLATE_DB: list[Path] = []
_HASHES: dict[str, str] = {}


def migrated_copy(target: Path) -> None:
    """Migrating takes seconds; a copy of one migrated file takes milliseconds, and is just as fresh."""
    if not _TEMPLATE_DB:
        folder = Path(tempfile.mkdtemp(prefix="lc-web-template-"))
        migrate(f"sqlite:///{folder}/template.db")
        _TEMPLATE_DB.append(folder / "template.db")
    shutil.copyfile(_TEMPLATE_DB[0], target)


def make_app(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Flask:
    """`database_url`: an already migrated database (the shared `db_url` fixture, for PostgreSQL runs);
    without it, a copy of a migrated SQLite file."""
    if database_url is None:
        migrated_copy(tmp_path / "t.db")
        database_url = f"sqlite:///{tmp_path}/t.db"
    # Elasticsearch on a closed port: unit tests never reach the shared engine, even when it is up.
    settings = Settings(runtime_dir=tmp_path, secret_key="test-secret", database_url=database_url,
                        es_url="http://127.0.0.1:1")
    options: dict[str, Any] = {
        "TESTING": True,
        "MIGRATE": False,
        "START_FEED": False,
        "IDENTITY_PUBLISHER": RecordingPublisher(),
        "CLOCK": FakeClock(),
        "FEED_MAX_IDLE": 2,
        "FEED_HEARTBEAT": 0.05,
    }
    options.update(overrides)
    return create_app(settings, **options)


def state(app: Flask) -> Console:
    found: Console = app.extensions["listening_center"]
    return found


def add_user(app: Flask, name: str, role: str) -> int:
    """An account like the users CLI makes, but with a cheap scrypt cost so logins in tests are fast
    (the cost is read from the stored hash; production hashes keep werkzeug's default)."""
    if PASSWORD not in _HASHES:
        _HASHES[PASSWORD] = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    with transaction(state(app).sessions) as session:
        user = User(username=name, role=role, password_hash=_HASHES[PASSWORD], active=True, created_at=T0)
        session.add(user)
        session.flush()
        return user.id


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, name: str) -> str:
    """Logs in through the real form; returns the CSRF token for later posts."""
    token = csrf_token(client)
    resp = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return csrf_token(client, "/")


def scored(
    mid: str = "mastodon:1",
    text: str = "My flight was cancelled and nobody helps",
    *,
    handle: str = "@ana",
    brand: str = "skyway",
    priority: float = 0.5,
    label: str = "negative",
    compound: float = -0.6,
    categories: list[str] | None = None,
) -> ScoredMention:
    return ScoredMention(
        mention=Mention(
            id=mid,
            platform="mastodon",
            text=text,
            created_at="2025-03-01T08:59:00Z",
            author_handle=handle,
            brand=brand,
            url=f"https://example.social/{mid}",
        ),
        sentiment=Sentiment(label=label, compound=compound),
        lexicon_version="care-1",
        scored_at="2025-03-01T08:59:01Z",
        categories=categories if categories is not None else ["delay"],
        intent="complaint",
        priority=Priority(priority, ["negative", "complaint"]),
    )


Factory = Callable[..., Flask]


def database_for(request: pytest.FixtureRequest) -> str | None:
    """PostgreSQL when the suite runs under infra/scripts/with-postgres.sh, else None (fast SQLite copy)."""
    if os.environ.get("LC_TEST_DATABASE_URL"):
        url: str = request.getfixturevalue("db_url")
        return url
    return None
