"""`listening-center user add`: accounts from the command line, passwords hashed, never echoed when given."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.db import make_engine
from web.accounts import authenticate
from web.models import AuditEntry, User
from web.users_cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("LC_DATABASE_URL", url)
    monkeypatch.setenv("LC_RUNTIME_DIR", str(tmp_path))
    return url


def test_add_with_password_from_the_environment(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADMIN_PW", "a long enough secret")
    assert main(["add", "root", "--role", "admin", "--password-env", "ADMIN_PW"]) == 0
    out = capsys.readouterr().out
    assert "a long enough secret" not in out
    with sa.orm.Session(make_engine(env)) as s:
        user = s.scalars(sa.select(User)).one()
        assert user.role == "admin" and user.password_hash.startswith("scrypt:")
        assert authenticate(s, "root", "a long enough secret") is not None
        assert authenticate(s, "root", "wrong") is None
        assert s.scalars(sa.select(AuditEntry.action)).all() == ["user.create"]


def test_generated_password_is_printed_once_and_works(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", "ana", "--role", "agent"]) == 0
    password = capsys.readouterr().out.split("password (shown once): ")[1].strip()
    with sa.orm.Session(make_engine(env)) as s:
        assert authenticate(s, "ana", password) is not None


def test_duplicates_short_passwords_and_unknown_roles_are_refused(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PW", "short")
    assert main(["add", "bo", "--role", "agent", "--password-env", "PW"]) == 1
    assert "at least 12" in capsys.readouterr().err
    monkeypatch.setenv("PW", "long enough password")
    assert main(["add", "bo", "--role", "agent", "--password-env", "PW"]) == 0
    assert main(["add", "bo", "--role", "agent", "--password-env", "PW"]) == 1
    assert "exists already" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["add", "cy", "--role", "king"])
    assert main(["add", "cy", "--role", "agent", "--password-env", "UNSET_VAR_X"]) == 2


def test_bootstrap_makes_the_first_admin_once(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LC_ADMIN_PASSWORD", raising=False)
    assert main(["bootstrap"]) == 0
    out = capsys.readouterr().out
    assert "created admin 'admin'" in out and "password (shown once): " in out
    assert main(["bootstrap"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    with sa.orm.Session(make_engine(env)) as s:
        assert s.scalars(sa.select(User.username)).all() == ["admin"]


def test_bootstrap_takes_the_password_from_the_environment(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LC_ADMIN_PASSWORD", "from the environment")
    assert main(["bootstrap"]) == 0
    assert "shown once" not in capsys.readouterr().out
    with sa.orm.Session(make_engine(env)) as s:
        assert authenticate(s, "admin", "from the environment") is not None
