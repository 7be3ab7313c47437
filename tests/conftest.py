"""Shared fixtures. Integration tests run against the real Kafka and Elasticsearch: reused when they
already answer, started (and stopped at the end) by this session otherwise. Each test gets its own topic
and index prefix, so tests never see each other's data, and drops them when it ends.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def engines() -> Iterator[Settings]:
    """The real engines, started once per test session when they are not already up."""
    from infra.engines.local import EngineError, es_health, kafka_ready, start, stop_all

    base = Settings.from_env()
    already = kafka_ready(base.kafka_bootstrap) and es_health(base.es_url) is not None
    if not already:
        try:
            start(base)
        except EngineError as exc:
            pytest.fail(f"integration tests need Kafka and Elasticsearch, and they could not start: {exc}")
    yield base
    if not already and not os.environ.get("LC_KEEP_ENGINES"):
        stop_all(base)


@pytest.fixture
def lc(engines: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one test: fresh topics (created) and indices (dropped afterwards), its own database."""
    from infra.topics import delete_topics, ensure_topics, load_specs
    from stream import es_admin

    tag = f"t{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(
        engines, topic_prefix=f"{tag}.", index_prefix=tag, runtime_dir=tmp_path / "runtime",
        database_url=f"sqlite:///{tmp_path / 'lc.db'}", secret_key="test-secret-" + tag,
    )
    ensure_topics(settings)
    yield settings
    names = [settings.topic(s.name) for s in load_specs()]
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:  # faust's own changelog/leader topics for this prefix
        names += [t for t in admin.list_topics() if t.startswith(tag)]
    finally:
        admin.close()
    delete_topics(settings, sorted(set(names)))
    es_admin.delete_prefix(es_admin.client(settings.es_url), settings.index_prefix)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a subprocess use exactly these settings."""
    env = dict(os.environ)
    for f in dataclasses.fields(Settings):
        env[f.metadata["env"]] = str(getattr(settings, f.name))
    return env


class Processes:
    """Components started as real processes for a test; killed (and their logs shown on failure) after."""

    def __init__(self, settings: Settings, logdir: Path) -> None:
        self.settings, self.logdir = settings, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.logdir.mkdir(parents=True, exist_ok=True)
        out = (self.logdir / f"{name}.log").open("ab")
        cli = str(Path(sys.executable).parent / "listening-center")
        proc = subprocess.Popen([cli, *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env or settings_env(self.settings), start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)


@pytest.fixture
def processes(lc: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    procs = Processes(lc, tmp_path / "logs")
    yield procs
    procs.stop_all()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for path in sorted((tmp_path / "logs").glob("*.log")):
            print(f"----- {path.name} -----\n{path.read_text(errors='replace')[-4000:]}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def wait_for(check: Callable[[], object], timeout: float = 60, interval: float = 0.25, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until `check()` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test: SQLite by default; with LC_TEST_DATABASE_URL (set by
    infra/scripts/with-postgres.sh) a new PostgreSQL database, dropped afterwards. Tests using it are
    marked `postgres_too` automatically, so `make test` runs them on both.
    """
    from infra.db import migrate

    server = os.environ.get("LC_TEST_DATABASE_URL")
    if not server:
        url = f"sqlite:///{tmp_path / 'test.db'}"
        migrate(url)
        yield url
        return
    import sqlalchemy as sa

    name = f"t{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    sa.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Tests that wait on real time for minutes: started first, so the parallel run (pytest-xdist) spreads the rest
# around them instead of ending on them.
LONG_FIRST = ("test_alerting_e2e.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres_too)
    items.sort(key=lambda item: item.path.name not in LONG_FIRST)  # stable: the rest keep their order
