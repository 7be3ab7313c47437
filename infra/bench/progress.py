"""Progress bars on a terminal only: piped or `--json` runs stay clean for machines and logs."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def bar(total: int | None, desc: str, unit: str = "mention", enabled: bool | None = None) -> Any:
    """A tqdm bar on stderr, disabled when stderr is not a tty (or when `enabled` is False)."""
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=not show, leave=False,
                file=sys.stderr, dynamic_ncols=True)
