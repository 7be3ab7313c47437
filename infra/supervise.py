"""When `listening-center run` restarts a component that exited: backoff that doubles, reset by a good run.

Pure (the caller passes the time), so the policy is tested without processes. A component that crashes
at once (Kafka not up yet, a bad setting) is retried ever more slowly rather than in a tight loop; one that
ran for a while and then died is restarted at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 60.0
    healthy_after: float = 300.0  # a run this long counts as recovered: the next failure restarts at once
    _failures: dict[str, int] = field(default_factory=dict)
    _started: dict[str, float] = field(default_factory=dict)
    _due: dict[str, float] = field(default_factory=dict)

    def started(self, name: str, now: float) -> None:
        self._started[name] = now
        self._due.pop(name, None)

    def exited(self, name: str, now: float) -> float:
        """Record an exit; returns the delay before the restart."""
        ran = now - self._started.get(name, now)
        failures = 0 if ran >= self.healthy_after else self._failures.get(name, 0) + 1
        self._failures[name] = failures
        delay = 0.0 if failures == 0 else min(self.max_delay, self.first_delay * 2 ** (failures - 1))
        self._due[name] = now + delay
        return delay

    def due(self, name: str, now: float) -> bool:
        return name in self._due and now >= self._due[name]
