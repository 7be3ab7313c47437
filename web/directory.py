"""The loyalty directory's rules, pure: ID format and CSV import that reports every bad row by line
number and imports nothing unless every row is good."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

DEFAULT_ID_PATTERN = r"[A-Z0-9]{6,12}"
TIERS = ("member", "silver", "gold", "platinum")
REQUIRED_COLUMNS = ("loyalty_id", "name", "tier")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PLATFORMS = ("mastodon", "bluesky", "reddit", "x", "instagram", "facebook", "rss", "webhook")


@dataclass(frozen=True)
class MemberRow:
    loyalty_id: str
    name: str
    tier: str
    email: str


class MemberImportError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_member(loyalty_id: str, name: str, tier: str, email: str, pattern: str = DEFAULT_ID_PATTERN) -> list[str]:
    problems = []
    if not re.fullmatch(pattern, loyalty_id):
        problems.append(f"loyalty ID {loyalty_id!r} does not match the format {pattern}")
    if not name.strip() or len(name) > 200:
        problems.append("the name must be 1-200 characters")
    if tier not in TIERS:
        problems.append(f"tier {tier!r} is not one of {', '.join(TIERS)}")
    if email and not EMAIL.fullmatch(email):
        problems.append(f"{email!r} is not an email address")
    return problems


def parse_members(text: str, pattern: str = DEFAULT_ID_PATTERN) -> list[MemberRow]:
    """All rows or none: raises MemberImportError with every problem ("line N: ...")."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MemberImportError([f"line 1: missing column(s) {', '.join(missing)}"])
    rows: list[MemberRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        member = MemberRow(
            loyalty_id=(row.get("loyalty_id") or "").strip().upper(),
            name=(row.get("name") or "").strip(),
            tier=(row.get("tier") or "").strip().lower(),
            email=(row.get("email") or "").strip(),
        )
        found = check_member(member.loyalty_id, member.name, member.tier, member.email, pattern)
        if member.loyalty_id in seen:
            found.append(f"loyalty ID {member.loyalty_id} repeats line {seen[member.loyalty_id]}")
        seen.setdefault(member.loyalty_id, line)
        problems += [f"line {line}: {p}" for p in found]
        rows.append(member)
    if problems:
        raise MemberImportError(problems)
    return rows


def clean_handle(handle: str) -> str:
    return handle.strip().lstrip("@")


def check_handle(platform: str, handle: str) -> list[str]:
    problems = []
    if platform not in PLATFORMS:
        problems.append(f"platform {platform!r} is not one of {', '.join(PLATFORMS)}")
    cleaned = clean_handle(handle)
    if not cleaned or len(cleaned) > 256 or any(c.isspace() for c in cleaned):
        problems.append("the handle must be 1-256 characters without spaces")
    return problems
