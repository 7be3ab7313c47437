"""`listening-center up | run | down`: the whole product on one machine.

`up` starts the local engines (unless the settings point at a cluster), creates topics, migrates the
database, then starts every component as a background process with its pid and log under the runtime
folder. `run` does the same and stays in the foreground: Ctrl-C stops everything it started. `down` stops
every process `up` started, engines last.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time

from infra.engines.local import EngineError, Paths, pid_file, running_pid, spawn, start, stop, stop_all
from infra.settings import Settings
from infra.supervise import RestartPolicy
from infra.topics import ensure_topics

# name -> the `listening-center` subcommand that runs it. Order matters: consumers before producers, so
# the demo's first mentions are processed the moment they arrive.
COMPONENTS: dict[str, list[str]] = {
    "worker": ["worker"],
    "indexer": ["indexer"],
    "alerter": ["alerter"],
    "web": ["web"],
    "listener-demo": ["listen", "demo"],
}


def _cli() -> str:
    return os.path.join(os.path.dirname(sys.executable), "listening-center")


def say(msg: str) -> None:
    print(f"[listening-center] {msg}", flush=True)


def ensure_admin(settings: Settings) -> None:
    """The first admin when there is none: password from LC_ADMIN_PASSWORD, or generated and printed once."""
    import secrets
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from infra.db import make_engine, session_factory, transaction
    from web import audit
    from web.accounts import create_user
    from web.models import User

    engine = make_engine(settings.db_url)
    try:
        with transaction(session_factory(engine)) as session:
            if session.scalar(sa.select(User).where(User.role == "admin").limit(1)) is not None:
                return
            password = os.environ.get("LC_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            now = datetime.now(UTC)
            user = create_user(session, "admin", "admin", password, now)
            audit.record(session, now, None, "user.create", "user", str(user.id), None,
                         {"username": "admin", "role": "admin", "by": "make run"})
    finally:
        engine.dispose()
    if "LC_ADMIN_PASSWORD" in os.environ:
        say("created the first console account 'admin' with the password from LC_ADMIN_PASSWORD")
    else:
        say(f"created the first console account: admin / {password}  (shown once: write it down)")


def component_env(name: str) -> dict[str, str]:
    env = dict(os.environ)
    if name == "worker":
        # Static membership: the one worker restarted after a crash takes its partitions back at once
        # instead of waiting out the session timeout of its dead self.
        env.setdefault("LC_WORKER_INSTANCE_ID", f"{socket.gethostname()}-worker")
    return env


def up(settings: Settings, components: list[str] | None = None) -> None:
    start(settings)
    created = ensure_topics(settings)
    if created:
        say(f"created topics: {', '.join(created)}")
    from infra.db import migrate

    migrate(settings.db_url)
    ensure_admin(settings)
    paths = Paths.of(settings)
    for name in components or list(COMPONENTS):
        if running_pid(paths, name):
            say(f"{name} already running")
            continue
        spawn(paths, name, [_cli(), *COMPONENTS[name]], env=component_env(name))
        say(f"started {name} (log: {paths.logs / (name + '.out')})")
    say(f"console: {settings.console_url}")


SUPERVISOR = "run"  # pid file of a `listening-center run` in the foreground


def _stop_supervisor(paths: Paths) -> None:
    """Ask a running `run` to stop first, or it would restart the components `down` is stopping."""
    pid = running_pid(paths, SUPERVISOR)
    if pid is None or pid == os.getpid():
        return
    say(f"asking `listening-center run` (pid {pid}) to stop everything it started")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while running_pid(paths, SUPERVISOR) == pid and time.monotonic() < deadline:
        time.sleep(0.5)


def down(settings: Settings) -> list[str]:
    paths = Paths.of(settings)
    _stop_supervisor(paths)
    stopped = [name for name in reversed(list(COMPONENTS)) if stop(paths, name)]
    return stopped + stop_all(settings)


def up_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center up", description=__doc__)
    parser.add_argument("components", nargs="*", help=f"default: all of {', '.join(COMPONENTS)}")
    args = parser.parse_args(argv)
    unknown = set(args.components) - set(COMPONENTS)
    if unknown:
        parser.error(f"unknown components: {', '.join(sorted(unknown))}")
    settings = Settings.from_env()
    try:
        up(settings, args.components or None)
    except EngineError as exc:
        print(f"listening-center: {exc}", file=sys.stderr)
        return 1
    return 0


def down_main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="listening-center down", description=__doc__).parse_args(argv)
    stopped = down(Settings.from_env())
    say("stopped: " + (", ".join(stopped) or "nothing was running"))
    return 0


def run_main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="listening-center run", description=__doc__).parse_args(argv)
    settings = Settings.from_env()
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        up(settings)
    except EngineError as exc:
        print(f"listening-center: {exc}", file=sys.stderr)
        down(settings)
        return 1
    say("running; press Ctrl-C to stop everything")
    paths = Paths.of(settings)
    pid_file(paths, SUPERVISOR).write_text(str(os.getpid()))
    policy = RestartPolicy()
    for name in COMPONENTS:
        policy.started(name, time.monotonic())
    down_since: set[str] = set()
    while not stopping:
        now = time.monotonic()
        for name in COMPONENTS:
            if running_pid(paths, name):
                continue
            if name not in down_since:  # a component that died is restarted (with backoff), never left dead
                delay = policy.exited(name, now)
                down_since.add(name)
                say(f"{name} exited; restarting in {delay:.0f}s (log: {paths.logs / (name + '.out')})")
            elif policy.due(name, now):
                spawn(paths, name, [_cli(), *COMPONENTS[name]], env=component_env(name))
                policy.started(name, now)
                down_since.discard(name)
        time.sleep(1)
    say("stopping...")
    stopped = down(settings)
    pid_file(paths, SUPERVISOR).unlink(missing_ok=True)
    say("stopped: " + ", ".join(stopped))
    return 0
