"""A seeded set of mention documents for the search tests, and the console app that searches them.

The tests compare what the API answers with counts computed here in plain Python from the same list.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import helpers
from flask import Flask
from flask.testing import FlaskClient

from infra.settings import Settings
from stream import documents, es_admin
from stream.index_cli import load_examples
from tests.unit.web_fixtures import FakeClock, add_user, login
from web import create_app
from web.identity import RecordingPublisher

NOW = datetime(2026, 11, 15, 0, 0, tzinfo=UTC)
START = NOW - timedelta(days=20)  # spans October and November: two monthly indices
BRANDS = (("skyway", False, 0.45), ("skyway-vacations", False, 0.1), ("northwind", True, 0.3),
          ("bluejet", True, 0.15))
CATEGORIES = ("baggage", "delay", "refunds", "staff", "booking", "cancellation")
PLATFORMS = ("mastodon", "bluesky", "reddit")
WORDS = {
    "negative": ["delayed flight again", "lost my bag", "cancelled and no refund", "rude staff at the gate"],
    "neutral": ["what is the baggage allowance", "is the lounge open", "booking question about seats"],
    "positive": ["wonderful crew today", "smooth flight and kind staff", "great upgrade thanks"],
}


def make_docs(n: int = 3000, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    template = load_examples()["complaint-baggage-linked"]
    authors = [(f"user{i}@example.social", rng.choice([None, 10, 200, 5000, 90_000 + i])) for i in range(150)]
    docs = []
    for i in range(n):
        brand, competitor, _ = rng.choices(BRANDS, weights=[b[2] for b in BRANDS])[0]
        sentiment = rng.choices(("negative", "neutral", "positive"), weights=(0.45, 0.25, 0.3))[0]
        created = START + timedelta(seconds=rng.randrange(int((NOW - START).total_seconds())))
        handle, followers = rng.choice(authors)
        text = f"{rng.choice(WORDS[sentiment])} on flight {rng.randint(100, 999)}"
        if created >= NOW - timedelta(days=2) and brand == "northwind" and rng.random() < 0.5:
            text += " the wifi outage ruined everything"  # a burst only in the last two days
        d = copy.deepcopy(template)
        d.update(
            id=f"gen:{i}", platform=rng.choice(PLATFORMS), brand=brand, competitor=competitor, text=text,
            text_stems=documents.stems(text), author_handle=handle, author_followers=followers,
            created_at=created.isoformat().replace("+00:00", "Z"), sentiment=sentiment,
            compound={"negative": -0.6, "neutral": 0.0, "positive": 0.7}[sentiment],
            categories=rng.sample(CATEGORIES, rng.randint(0, 2)),
            intent={"negative": "complaint", "neutral": "question", "positive": "praise"}[sentiment],
            priority=float(rng.randint(0, 100)), linked=rng.random() < 0.2, lang=rng.choice(["en", "en", "es"]),
        )
        d["tier"] = "gold" if d["linked"] else None
        docs.append(d)
    return docs


def load(settings: Settings, docs: list[dict[str, Any]]) -> None:
    es = es_admin.client(settings.es_url)
    es_admin.ensure_template(es, settings.index_prefix)
    months = {documents.month_of(d["created_at"]) for d in docs}
    for month in months:
        es_admin.ensure_month(es, settings.index_prefix, month)
    helpers.bulk(es, ({"_index": documents.write_alias(settings.index_prefix, documents.month_of(d["created_at"])),
                       "_id": d["id"], "_source": d} for d in docs), chunk_size=2000)
    es.indices.refresh(index=documents.read_alias(settings.index_prefix))


def make_console(settings: Settings, tmp_path: Path) -> Flask:
    config = dataclasses.replace(settings, runtime_dir=tmp_path, secret_key="test-secret",
                                 database_url=f"sqlite:///{tmp_path}/console.db")
    return create_app(config, TESTING=True, START_FEED=False, IDENTITY_PUBLISHER=RecordingPublisher(),
                      CLOCK=FakeClock(NOW))


@pytest.fixture
def console_for(tmp_path: Path) -> Iterator[Any]:
    def build(settings: Settings, role: str = "marketing") -> FlaskClient:
        app = make_console(settings, tmp_path)
        add_user(app, "pat", role)
        client = app.test_client()
        login(client, "pat")
        return client

    yield build
