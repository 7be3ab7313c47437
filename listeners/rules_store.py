"""Rule sets kept in the database with every version (who, when, why), and published to listen.rules.

A save goes: check the YAML with the rule language (syntax errors with their column, rules that can never
match or match everything, the file's own fixtures) -> commit a new version -> publish the whole set as
JSON, keyed by its name, to the compacted listen.rules topic with acks=all -> mark the version published.
The database is the truth; a publish that failed leaves the version unpublished, and publishing again
(`publish_current`) sends it. Every listener follows the topic and swaps its rules live (runner.watch_rules).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, Protocol

import sqlalchemy as sa
import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from infra.db import Base, transaction
from listeners.rules import RuleError, RuleSet, parse_rule, ruleset_from_dict, run_fixtures

NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_YAML_CHARS: Final = 500_000


class RuleVersion(Base):
    """One saved version of a named rule set; versions count up from 1 per name and are never changed,
    except `published_at`, set once the broker acknowledged the version."""

    __tablename__ = "listener_rule_versions"
    __table_args__ = (sa.UniqueConstraint("name", "version", name="uq_listener_rule_versions_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    source: Mapped[str] = mapped_column(sa.Text)  # the YAML as the admin wrote it, comments included
    document: Mapped[str] = mapped_column(sa.Text)  # RuleSet.to_dict() as JSON: what was published
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), default=None)


# -- checking ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    severity: Literal["error", "warning"]
    message: str
    where: str = ""  # which entry of the set: "skyway: topic baggage rule skyway/baggage/1", "line 4"
    column: int | None = None  # 1-based, in the rule expression
    rule: str = ""  # the expression, so a page can point at the column
    line: int | None = None  # 1-based line of the YAML text where the expression (or YAML error) is

    def __str__(self) -> str:
        at = f" at column {self.column}" if self.column is not None else ""
        return f"{self.where + ': ' if self.where else ''}{self.severity}: {self.message}{at}"


@dataclass
class Check:
    """What a save would meet: `rules` is None when the text does not even build a rule set."""

    rules: RuleSet | None
    problems: list[Problem] = field(default_factory=list)
    fixtures_run: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.rules is not None and not self.errors


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _culprit(data: Any, exc: RuleError) -> str:
    """The expression a located RuleError came from (RuleSet reports where, not the text)."""
    for text in _strings(data):
        try:
            parse_rule(text)
        except RuleError as other:
            if (other.message, other.column) == (exc.message, exc.column):
                return text
    return ""


def _line_of(text: str, rule: str) -> int | None:
    if not rule:
        return None
    for n, line in enumerate(text.splitlines(), 1):
        if rule in line:
            return n
    return None


def check_rules(text: str) -> Check:
    """Everything that must hold before a rule set goes live, as a list an admin can act on."""
    if len(text) > MAX_YAML_CHARS:
        return Check(None, [Problem("error", f"the rule set is longer than {MAX_YAML_CHARS:,} characters")])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        column = mark.column + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return Check(None, [Problem("error", f"not valid YAML: {reason}", where, column,
                                    line=mark.line + 1 if mark is not None else None)])
    try:
        rules = ruleset_from_dict(data)
    except RuleError as exc:
        rule = _culprit(data, exc) if exc.column is not None else ""
        return Check(None, [Problem("error", exc.message + (f" ({exc.hint})" if exc.hint else ""), exc.where,
                                    exc.column, rule, _line_of(text, rule))])
    problems = [Problem(f.severity, f.message, ref.where, None, ref.query, _line_of(text, ref.query))
                for ref, f in rules.findings()]
    ran, failures = run_fixtures(rules)
    problems += [Problem("error", f"fixture {f.fixture.post.text!r}: {f.reason}", f.fixture.where)
                 for f in failures]
    return Check(rules, problems, ran)


def check_name(name: str) -> str | None:
    """Why `name` cannot name a rule set (it is the Kafka key and part of URLs), or None."""
    if NAME.match(name):
        return None
    return "a rule set name is 1-64 characters: lower-case letters, digits, '.', '-' or '_', starting with a " \
           "letter or digit"


def document_of(rules: RuleSet) -> str:
    return json.dumps(rules.to_dict(), ensure_ascii=False, sort_keys=True)


# -- publishing -----------------------------------------------------------------------------------------
class RulesPublisher(Protocol):
    def publish(self, name: str, document: str) -> None:
        """Returns once the broker acknowledged the record; raises otherwise."""


class RecordingRulesPublisher:
    """Keeps what would have been sent, or fails on demand: for unit tests."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail: Exception | None = None

    def publish(self, name: str, document: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((name, document))


class KafkaRulesPublisher:
    """Sends synchronously with acks=all: "published" on the page means every in-sync replica has it."""

    def __init__(self, bootstrap: str, topic: str, timeout: float = 15.0) -> None:
        self.bootstrap, self.topic, self.timeout = bootstrap, topic, timeout
        self._producer: Any = None
        self._lock = threading.Lock()

    def publish(self, name: str, document: str) -> None:
        from kafka import KafkaProducer

        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                               enable_idempotence=True, linger_ms=0, max_block_ms=15_000,
                                               client_id="rules-publisher")
            producer = self._producer
        producer.send(self.topic, key=name.encode(), value=document.encode()).get(timeout=self.timeout)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close()
                self._producer = None


# -- the store ------------------------------------------------------------------------------------------
class RulesRejected(ValueError):
    """The text did not pass the check; nothing was stored."""

    def __init__(self, check: Check) -> None:
        self.check = check
        first = check.errors[0] if check.errors else Problem("error", "not a rule set")
        super().__init__(f"{len(check.errors)} error(s), first: {first}")


class RulesConflict(RuntimeError):
    """Two saves of one set raced; the other one won."""


@dataclass(frozen=True)
class Saved:
    version: RuleVersion
    check: Check
    created: bool  # False when the text equals the current version: nothing new stored, only republished
    published: bool
    publish_error: str = ""


AfterSave = Callable[[Session, RuleVersion, RuleVersion | None], None]


class RuleStore:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions, self.clock = sessions, clock

    def names(self) -> list[RuleVersion]:
        """The current version of every set, by name."""
        latest = (sa.select(RuleVersion.name, sa.func.max(RuleVersion.version).label("v"))
                  .group_by(RuleVersion.name).subquery())
        with self.sessions() as session:
            return list(session.scalars(
                sa.select(RuleVersion).join(latest, sa.and_(RuleVersion.name == latest.c.name,
                                                            RuleVersion.version == latest.c.v))
                .order_by(RuleVersion.name)))

    def current(self, name: str) -> RuleVersion | None:
        with self.sessions() as session:
            return _current(session, name)

    def history(self, name: str, limit: int = 50) -> list[RuleVersion]:
        with self.sessions() as session:
            return list(session.scalars(sa.select(RuleVersion).where(RuleVersion.name == name)
                                        .order_by(RuleVersion.version.desc()).limit(limit)))

    def save(self, name: str, text: str, author: str, publisher: RulesPublisher, note: str = "",
             after_save: AfterSave | None = None) -> Saved:
        """Check, store a new version (unless unchanged), publish it, and mark it published.

        `after_save(session, new, previous)` runs inside the saving transaction (the console writes its
        audit entry there, so a version and its audit entry exist together or not at all). A failed
        publish is reported in the result, not raised: the version is stored and can be published again.
        """
        bad_name = check_name(name)
        if bad_name:
            raise RulesRejected(Check(None, [Problem("error", bad_name, "name")]))
        check = check_rules(text)
        if not check.ok or check.rules is None:
            raise RulesRejected(check)
        document = document_of(check.rules)
        try:
            row, created = self._store(name, text, document, author, note, after_save)
        except IntegrityError:  # another admin saved the same set in the same instant
            raise RulesConflict(f"rule set {name!r} was saved by someone else just now; reload and retry") \
                from None
        # Published only after the commit: a listener must never run rules the database does not hold.
        published, error = self._publish(row, publisher)
        return Saved(row, check, created, published, error)

    def _store(self, name: str, text: str, document: str, author: str, note: str,
               after_save: AfterSave | None) -> tuple[RuleVersion, bool]:
        with transaction(self.sessions) as session:
            previous = _current(session, name)
            created = previous is None or previous.source != text
            if created:
                row = RuleVersion(name=name, version=(previous.version + 1) if previous else 1, source=text,
                                  document=document, created_by=author[:64], created_at=self.clock(),
                                  note=note[:500])
                session.add(row)
                session.flush()
            else:
                assert previous is not None
                row = previous
            if after_save is not None:
                after_save(session, row, previous)
        return row, created

    def publish_current(self, name: str, publisher: RulesPublisher) -> tuple[RuleVersion | None, str]:
        """Send the current version again (after a failed publish, or to a freshly created topic)."""
        row = self.current(name)
        if row is None:
            return None, f"no rule set named {name!r}"
        ok, error = self._publish(row, publisher)
        return row, "" if ok else error

    def _publish(self, row: RuleVersion, publisher: RulesPublisher) -> tuple[bool, str]:
        try:
            publisher.publish(row.name, row.document)
        except Exception as exc:  # the broker is down or slow: the version stays stored, unpublished
            return False, f"{type(exc).__name__}: {exc}"
        at = self.clock()
        with transaction(self.sessions) as session:
            session.execute(sa.update(RuleVersion).where(RuleVersion.id == row.id).values(published_at=at))
        row.published_at = at
        return True, ""


def _current(session: Session, name: str) -> RuleVersion | None:
    return session.scalar(sa.select(RuleVersion).where(RuleVersion.name == name)
                          .order_by(RuleVersion.version.desc()).limit(1))
