"""Score `listening-center backtest` on count series with labelled anomaly windows (NAB's format).

    python infra/scripts/score_backtest_windows.py --windows combined_windows.json SERIES.csv ...

`combined_windows.json` maps a series' path (only its file stem is matched) to [[start, end], ...]. Each
CSV is run through `listening-center backtest --json` at default settings. An incident detected inside a
window finds it (the first one; later ones in the same window are duplicates); outside every window it is
a false alarm, except within the first 15 % of the series (NAB's probation, where a detector is learning).
The NAB-like score uses NAB's standard profile (a find weighted by how early in the window it came, a miss
-1, a false alarm -0.11), normalised per series to 0 (detects nothing) .. 100 (perfect).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def when(raw: str) -> datetime:
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # NAB's times are UTC without a zone


def score(csv: Path, windows: list[tuple[datetime, datetime]]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "infra.cli", "backtest", str(csv), "--json"],
                         capture_output=True, text=True, check=True).stdout
    incidents = [json.loads(line) for line in out.splitlines() if line.strip()]
    times = [when(line.split(",")[0]) for line in csv.read_text().splitlines()[1:] if line.strip()]
    probation = times[0] + (times[-1] - times[0]) * 0.15
    found: dict[int, datetime] = {}
    dup = false = 0
    for incident in incidents:
        at = when(incident["detected_at"])
        hit = next((i for i, (a, b) in enumerate(windows) if a <= at <= b), None)
        if hit is None:
            false += at >= probation
        elif hit in found:
            dup += 1
        else:
            found[hit] = at
    raw = -0.11 * false
    for i, (a, b) in enumerate(windows):
        if i in found:
            y = (found[i] - b).total_seconds() / (b - a).total_seconds()  # -1 at the window's start, 0 at its end
            raw += 2 / (1 + math.exp(5 * y)) - 1
        else:
            raw -= 1
    nab = 100 * (raw + len(windows)) / (2 * len(windows)) if windows else 0.0
    return {"windows": len(windows), "found": len(found), "duplicates": dup, "false_alarms": false,
            "incidents": len(incidents), "nab_like": round(nab, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", required=True, type=Path)
    parser.add_argument("csv", nargs="+", type=Path)
    args = parser.parse_args()
    labels = {Path(k).stem: v for k, v in json.loads(args.windows.read_text()).items()}
    rows = []
    for csv in args.csv:
        windows = [(when(a), when(b)) for a, b in labels.get(csv.stem, [])]
        result = score(csv, windows)
        rows.append(result)
        print(json.dumps({"series": csv.stem, **result}))
    total = {k: sum(r[k] for r in rows) for k in ("windows", "found", "duplicates", "false_alarms")}
    print(json.dumps({"series": "all", **total, "nab_like": round(sum(r["nab_like"] for r in rows) / len(rows), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
