"""`listening-center user add NAME --role ROLE [--password-env VAR]`: create a console account.
`listening-center user bootstrap`: the first admin (`admin`), only when no admin exists yet: for `make run`.

Without a password from the environment a strong one is generated and printed once; it is never stored
in clear.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import UTC, datetime

import sqlalchemy as sa

from infra.db import make_engine, migrate, session_factory, transaction
from infra.settings import Settings
from web import audit
from web.accounts import AccountError, create_user
from web.models import User
from web.security import ROLES


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center user", description="create console accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    boot = sub.add_parser("bootstrap", help="create the first admin if there is no admin yet")
    boot.add_argument("--name", default="admin")
    boot.add_argument(
        "--password-env",
        metavar="VAR",
        default="LC_ADMIN_PASSWORD",
        help="read the password from this environment variable when set (default LC_ADMIN_PASSWORD)",
    )
    args = parser.parse_args(argv)
    if args.command == "bootstrap":
        args.role = "admin"
        if not os.environ.get(args.password_env):
            args.password_env = None

    generated = False
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            print(f"listening-center user: ${args.password_env} is empty or not set", file=sys.stderr)
            return 2
    else:
        password = secrets.token_urlsafe(18)
        generated = True

    url = Settings.from_env().db_url
    migrate(url)
    factory = session_factory(make_engine(url))
    now = datetime.now(UTC)
    try:
        with transaction(factory) as session:
            if args.command == "bootstrap" and session.scalar(
                sa.select(sa.func.count()).select_from(User).where(User.role == "admin")
            ):
                print("an admin exists already: nothing to do")
                return 0
            user = create_user(session, args.name, args.role, password, now)
            audit.record(
                session,
                now,
                None,
                "user.create",
                "user",
                str(user.id),
                None,
                {"username": user.username, "role": user.role},
            )
    except AccountError as exc:
        print(f"listening-center user: {exc}", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.name!r}")
    if generated:
        print(f"password (shown once): {password}")
    return 0
