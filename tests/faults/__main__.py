"""`python -m tests.faults` (`make faults`): the fault scenario outside pytest; prints the report, writes it to
test-artifacts/faults-report.txt, exit code 1 when something was lost, doubled or never caught up."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.faults.scenario import ROOT, FaultConfig, Scenario, engine_pair


def main() -> int:
    config = FaultConfig.from_env()
    with engine_pair() as pair, tempfile.TemporaryDirectory(prefix="lc-faults-work-") as work:
        report = Scenario(pair, config, Path(work)).run(ROOT / "test-artifacts" / "faults-report.txt")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
