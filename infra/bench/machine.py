"""What machine a run measured: read from /proc so the figures can be compared with another run's."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"model name", "Model", "Hardware"} and value.strip():
            return value.strip()
    return "unknown"


def mem_total_kib(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return None


def describe(proc: Path = Path("/proc")) -> dict[str, Any]:
    def read(name: str) -> str:
        try:
            return (proc / name).read_text()
        except OSError:
            return ""

    mem = mem_total_kib(read("meminfo"))
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(read("cpuinfo")),
        "memory_gib": round(mem / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": read("loadavg").split()[:3],
    }
