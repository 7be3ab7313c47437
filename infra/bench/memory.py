"""Resident memory (RSS) of the processes a run involves, read from /proc, sampled for the peak.

An engine is a process tree (Elasticsearch's launcher forks the server JVM), so a figure is the sum over
a process and its descendants.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")
# What identifies an engine's process on its command line.
ENGINE_MARKERS = {
    "kafka": ("kafka.Kafka",),
    "elasticsearch": ("org.elasticsearch.bootstrap.Elasticsearch", "org.elasticsearch.launcher.CliToolLauncher"),
}


def rss_kib(status: str) -> int:
    """VmRSS from a /proc/<pid>/status text (kB there means KiB); 0 for a zombie, which has none."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def parent_of(stat: str) -> int:
    """The ppid field of /proc/<pid>/stat; the command name may contain spaces and parentheses."""
    return int(stat[stat.rindex(")") + 2:].split()[1])


def descendants(root: int, parents: Mapping[int, int]) -> set[int]:
    """`root` and every process below it, from a pid -> ppid map."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def match_engines(cmdlines: Mapping[int, str], markers: Mapping[str, Iterable[str]] = ENGINE_MARKERS
                  ) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for pid, cmd in sorted(cmdlines.items()):
        for name, marks in markers.items():
            if any(m in cmd for m in marks):
                found.setdefault(name, []).append(pid)
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # the process ended between listing and reading
        return ""


def process_table(proc: Path = PROC) -> tuple[dict[int, int], dict[int, str]]:
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read(entry / "stat")
        if stat:
            parents[int(entry.name)] = parent_of(stat)
            cmdlines[int(entry.name)] = _read(entry / "cmdline").replace("\0", " ")
    return parents, cmdlines


def tree_rss_kib(pids: Iterable[int], parents: Mapping[int, int], proc: Path = PROC) -> int:
    every: set[int] = set()
    for pid in pids:
        every |= descendants(pid, parents)
    return sum(rss_kib(_read(proc / str(p) / "status")) for p in every)


class PeakSampler:
    """Samples named process trees every `interval` seconds in a thread and keeps each one's peak RSS."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self.load_peak = 0.0  # the highest 1-minute load average seen: how shared the machine was
        self._named: dict[str, Callable[[], list[int]]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def watch(self, name: str, pids: Callable[[], list[int]]) -> None:
        with self._lock:
            self._named[name] = pids

    def watch_engines(self) -> None:
        for name in ENGINE_MARKERS:  # found by command line at each sample: an engine may restart
            self.watch(name, list)

    def watch_self(self) -> None:
        me = os.getpid()
        self.watch("bench (this process)", lambda: [me])

    def sample(self) -> None:
        load = _read(PROC / "loadavg").split()
        if load:
            self.load_peak = max(self.load_peak, float(load[0]))
        parents, cmdlines = process_table()
        engines = match_engines(cmdlines)
        with self._lock:
            named = dict(self._named)
        for name, get_pids in named.items():
            pids = engines.get(name) if name in ENGINE_MARKERS else get_pids()
            if not pids:
                continue
            kib = tree_rss_kib(pids, parents)
            if kib > self.peaks.get(name, 0):
                self.peaks[name] = kib

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> dict[str, int]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()
        return dict(self.peaks)
