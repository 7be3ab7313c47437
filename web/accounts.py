"""Accounts: creation and password checks, shared by the login page, the admin pages and the CLI."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from web.models import User
from web.security import ROLES

MIN_PASSWORD = 12
# Checked against when the name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def validate_new(username: str, role: str, password: str) -> None:
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AccountError("the name must be 1-64 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def create_user(session: Session, username: str, role: str, password: str, at: datetime) -> User:
    validate_new(username, role, password)
    if session.scalar(sa.select(User).where(User.username == username)) is not None:
        raise AccountError(f"a user named {username!r} exists already")
    user = User(username=username, role=role, password_hash=hash_password(password), active=True, created_at=at)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user
