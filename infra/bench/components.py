"""Product components (`listening-center worker`, `indexer`) started as real processes for a phase.

Each runs in its own session so stopping it stops its children too; `stop_all` runs on every way out of
the bench (normal end, error, Ctrl-C, SIGTERM), so no process outlives the run.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

from infra.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a subprocess use exactly these settings."""
    env = dict(os.environ)
    for f in dataclasses.fields(Settings):
        env[f.metadata["env"]] = str(getattr(settings, f.name))
    return env


def cli_path() -> str:
    return str(Path(sys.executable).parent / "listening-center")


class Components:
    def __init__(self, settings: Settings, logdir: Path) -> None:
        self.settings, self.logdir = settings, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """`listening-center <args>` as process `name`."""
        return self._spawn(name, [cli_path(), *args])

    def start_module(self, name: str, module: str, *args: str) -> subprocess.Popen[bytes]:
        """`python -m <module> <args>` (a bench-only entry point such as infra.bench.console)."""
        return self._spawn(name, [sys.executable, "-m", module, *args])

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        self.logdir.mkdir(parents=True, exist_ok=True)
        with (self.logdir / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=settings_env(self.settings),
                                    start_new_session=True)
        self.procs[name] = proc
        return proc

    def pids(self, name: str) -> list[int]:
        proc = self.procs.get(name)
        return [proc.pid] if proc is not None and proc.poll() is None else []

    def alive(self, name: str) -> bool:
        return bool(self.pids(name))

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, name: str, timeout: float = 30.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            proc.wait()
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)
