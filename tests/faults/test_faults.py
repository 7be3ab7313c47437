"""Kill the engines and the components during a replay; every mention is searchable once, every alert told once.

Inside `make test` a smaller run keeps the suite's budget (5,000 mentions, Elasticsearch down 20 s, 10 s between
faults: about 5 minutes on 2 cores); LC_FAULTS_* variables override it. `make faults` runs the full scenario
(20,000 mentions, Elasticsearch down 60 s) outside pytest and prints the same report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.scenario import EnginePair, FaultConfig, Scenario

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_nothing_lost_or_doubled_across_kills_and_restarts(fault_engines: EnginePair, tmp_path: Path) -> None:
    config = FaultConfig.from_env(mentions=5_000, es_pause=20.0, gap=10.0, settle=5.0)
    scenario = Scenario(fault_engines, config, tmp_path)
    try:
        report = scenario.run(ROOT / "test-artifacts" / "faults-report.txt")
    except BaseException:
        for name in ("worker", "indexer", "alerter", "listener"):
            if hasattr(scenario, "sup"):
                print(f"----- {name} -----\n{scenario.sup.tail(name)}")
        raise
    assert report.faults and all(f.catch_up_seconds is not None for f in report.faults), report.text()
    assert report.lost == 0 and report.duplicates == 0 and report.unexpected == 0, report.text()
    assert report.distinct_indexed == report.replayed == config.mentions, report.text()
    assert report.unscored == 0, report.text()
    assert report.alerts_open >= 1, report.text()  # the demo incident at least
    assert report.alerts_missing == 0 and report.alerts_duplicated == 0, report.text()
