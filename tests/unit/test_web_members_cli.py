"""`listening-center members import`: all rows or none, problems by line number."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.db import make_engine
from web.members_cli import main
from web.models import Member


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db = f"sqlite:///{tmp_path}/m.db"
    monkeypatch.setenv("LC_DATABASE_URL", db)
    monkeypatch.setenv("LC_RUNTIME_DIR", str(tmp_path))
    return db


def _members(url: str) -> list[tuple[str, str]]:
    with sa.orm.Session(make_engine(url)) as s:
        return [(m.loyalty_id, m.tier) for m in s.scalars(sa.select(Member).order_by(Member.loyalty_id))]


def test_import_then_reimport_updates(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("loyalty_id,name,tier,email\nAB123456,Ana,gold,ana@example.com\nCD123456,Bo,silver,\n")
    assert main(["import", str(csv)]) == 0
    assert "2 new" in capsys.readouterr().out
    csv.write_text("loyalty_id,name,tier\nAB123456,Ana,platinum\n")
    assert main(["import", str(csv)]) == 0
    assert _members(url) == [("AB123456", "platinum"), ("CD123456", "silver")]


def test_a_bad_file_imports_nothing_and_says_where(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("loyalty_id,name,tier\nAB123456,Ana,gold\n??,Bo,gold\n")
    assert main(["import", str(csv)]) == 1
    err = capsys.readouterr().err
    assert "line 3:" in err and "nothing was imported" in err
    assert main(["import", str(tmp_path / "missing.csv")]) == 2


def test_the_id_format_comes_from_the_environment(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LC_LOYALTY_ID_PATTERN", r"RR\d{8}")
    csv = tmp_path / "m.csv"
    csv.write_text("loyalty_id,name,tier\nRR48201937,Maria,platinum\nAB123456,Ana,gold\n")
    assert main(["import", str(csv)]) == 1
    assert "line 3: loyalty ID 'AB123456' does not match the format RR\\d{8}" in capsys.readouterr().err
    csv.write_text("loyalty_id,name,tier\nRR48201937,Maria,platinum\n")
    assert main(["import", str(csv)]) == 0
