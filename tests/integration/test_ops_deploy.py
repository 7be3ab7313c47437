"""The deployment files agree with the code: every unit runs a real subcommand with the settings file, the
templated units keep instances apart, and the example environment names only real settings.
(No engines needed; it lives with the other operations tests.)"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.cli import COMMANDS
from infra.settings import env_names

DEPLOY = Path(__file__).resolve().parents[2] / "infra" / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path)
    return parser


def test_every_component_has_a_unit() -> None:
    names = {p.name for p in UNITS}
    for expected in ("listening-center-worker@.service", "listening-center-indexer@.service",
                     "listening-center-alerter.service", "listening-center-web.service",
                     "listening-center-listener@.service", "listening-center-retention.service"):
        assert expected in names


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_run_a_real_subcommand_with_the_settings_file(path: Path) -> None:
    service = unit(path)["Service"]
    command = service["ExecStart"].split()
    assert command[0] == "/opt/listening-center/.venv/bin/listening-center"
    assert command[1] in COMMANDS
    assert "EnvironmentFile=/etc/listening-center/listening-center.env\n" in path.read_text()
    assert service["User"] == "listening-center"


def test_templated_workers_and_indexers_keep_instances_apart() -> None:
    worker = (DEPLOY / "systemd" / "listening-center-worker@.service").read_text()
    indexer = (DEPLOY / "systemd" / "listening-center-indexer@.service").read_text()
    assert "Environment=LC_METRICS_INSTANCE=%i" in worker and "Environment=LC_METRICS_INSTANCE=%i" in indexer
    assert "Environment=LC_RUNTIME_DIR=/var/lib/listening-center/worker-%i" in worker  # faust's data folder


def test_example_environment_names_only_real_settings() -> None:
    known = env_names()
    for line in (DEPLOY / "listening-center.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert line.split("=", 1)[0] in known, line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this machine")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    for path in [*UNITS, *(DEPLOY / "systemd").glob("*.t*")]:
        name = path.name.replace("@.", "@1.")
        (tmp_path / name).write_text(path.read_text())
        out = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / name)],
                             capture_output=True, text=True, check=False)
        problems = [line for line in out.stderr.splitlines()
                    if "is not executable" not in line and "listening-center" in line and path.stem in line]
        assert not problems, problems
