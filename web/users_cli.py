"""`listening-center user add NAME --role ROLE [--password-env VAR]`: create a console account.

Without --password-env a strong password is generated and printed once; it is never stored in clear.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import UTC, datetime

from infra.db import make_engine, migrate, session_factory, transaction
from infra.settings import Settings
from web import audit
from web.accounts import AccountError, create_user
from web.security import ROLES


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center user", description="create console accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    args = parser.parse_args(argv)

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
            user = create_user(session, args.name, args.role, password, now)
            audit.record(session, now, None, "user.create", "user", str(user.id), None,
                         {"username": user.username, "role": user.role})
    except AccountError as exc:
        print(f"listening-center user: {exc}", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.name!r}")
    if generated:
        print(f"password (shown once): {password}")
    return 0
