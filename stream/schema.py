"""Topic contracts: the messages that travel between the listeners, the stream, the indexer and alerting.

Plain dataclasses (no faust import) so every component and every test can use them. Each message is
JSON; `from_dict` validates a decoded object and raises `SchemaError` with a reason a person can act on,
which is what lands in the dead-letter topic. The version is carried in every message (`v`) so a
consumer can tell an old shape from a broken one.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

SCHEMA_VERSION = 1
MAX_TEXT_CHARS = 10_000  # longer posts are hostile or broken: no platform allows them


class SchemaError(ValueError):
    """A message does not match its contract; the message says which field and why."""


def parse_time(value: str) -> datetime:
    """ISO-8601 with a zone (a trailing Z is accepted); naive times are refused, not guessed."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SchemaError(f"not an ISO-8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise SchemaError(f"time without a zone: {value!r}")
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Checker = typing.Callable[[str, Any], Any]


def _checker(hint: Any) -> Checker:
    """A validator for one type hint, built once per class field (hint inspection is slow; messages are many)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(hint)
        nullable = type(None) in args
        options = [_checker(arg) for arg in args if arg is not type(None)]

        def check_union(name: str, value: Any) -> Any:
            if value is None and nullable:
                return None
            for option in options:
                try:
                    return option(name, value)
                except SchemaError:
                    continue
            raise SchemaError(f"field {name!r}: expected {hint}, got {type(value).__name__}")

        return check_union
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        item = _checker(item_hint)

        def check_list(name: str, value: Any) -> Any:
            if not isinstance(value, list):
                raise SchemaError(f"field {name!r}: expected a list, got {type(value).__name__}")
            return [item(f"{name}[{i}]", v) for i, v in enumerate(value)]

        return check_list
    if origin is dict:

        def check_dict(name: str, value: Any) -> Any:
            if not isinstance(value, dict):
                raise SchemaError(f"field {name!r}: expected an object, got {type(value).__name__}")
            return dict(value)

        return check_dict
    if isinstance(hint, type) and issubclass(hint, Record):
        record = hint

        def check_record(name: str, value: Any) -> Any:
            if not isinstance(value, dict):
                raise SchemaError(f"field {name!r}: expected an object, got {type(value).__name__}")
            return record.from_dict(value)

        return check_record
    if hint is float:

        def check_float(name: str, value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SchemaError(f"field {name!r}: expected a number, got {type(value).__name__}")
            return float(value)

        return check_float
    if hint is int:

        def check_int(name: str, value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SchemaError(f"field {name!r}: expected an integer, got {type(value).__name__}")
            return value

        return check_int
    if hint in (str, bool):
        kind: type = hint

        def check_exact(name: str, value: Any) -> Any:
            if not isinstance(value, kind):
                raise SchemaError(f"field {name!r}: expected {kind.__name__}, got {type(value).__name__}")
            return value

        return check_exact
    return lambda name, value: value


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# Per class: (field name, checker, required), computed on first use.
_PLANS: dict[type, list[tuple[str, Checker, bool]]] = {}


def _plan(cls: type) -> list[tuple[str, Checker, bool]]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = [
            (f.name, _checker(hints[f.name]), f.default is MISSING and f.default_factory is MISSING)
            for f in fields(cls)
        ]
    return plan


@dataclass
class Record:
    """Base: validation from a decoded JSON object, and JSON bytes both ways."""

    TIME_FIELDS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        if not isinstance(data, dict):
            raise SchemaError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        values: dict[str, Any] = {}
        for name, check, required in _plan(cls):
            if name in data:
                values[name] = check(name, data[name])
            elif required:
                raise SchemaError(f"{cls.__name__}: missing required field {name!r}")
        for name in cls.TIME_FIELDS:
            if values.get(name) is not None:
                parse_time(values[name])
        record = cls(**values)
        record.validate()
        return record

    def validate(self) -> None:
        """Rules beyond types; subclasses raise SchemaError."""

    @classmethod
    def from_json(cls, raw: bytes | str) -> Self:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON errors, and ints over 4,300 digits
            raise SchemaError(f"not valid JSON: {exc}") from exc
        except RecursionError as exc:  # `[[[[...` a few thousand deep: hostile, not a mention
            raise SchemaError("not valid JSON: nested too deeply") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies every leaf and cost more than scoring a mention; the messages hold
        # only JSON values, records and lists of them, so a walk over the fields is enough.
        return {name: _plain(getattr(self, name)) for name, _, _ in _plan(type(self))}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Mention(Record):
    """A post that a listener matched, normalised across platforms. Topic: mentions.raw."""

    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("created_at", "ingested_at")

    id: str  # unique per platform post: "<platform>:<native id>"
    platform: str
    text: str
    created_at: str
    author_handle: str
    author_name: str = ""
    author_followers: int | None = None
    url: str = ""
    lang: str = ""
    brand: str = ""
    competitor: bool = False
    matched_rules: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    source: str = ""
    ingested_at: str | None = None
    v: int = SCHEMA_VERSION

    def validate(self) -> None:
        if not self.id.strip():
            raise SchemaError("field 'id': must not be empty")
        if not self.platform.strip():
            raise SchemaError("field 'platform': must not be empty")
        if not self.text.strip():
            raise SchemaError("field 'text': must not be empty")
        if len(self.text) > MAX_TEXT_CHARS:
            raise SchemaError(f"field 'text': {len(self.text)} characters, more than {MAX_TEXT_CHARS}")
        if self.author_followers is not None and self.author_followers < 0:
            raise SchemaError("field 'author_followers': must not be negative")
        if self.v > SCHEMA_VERSION:
            raise SchemaError(f"field 'v': version {self.v} is newer than this consumer ({SCHEMA_VERSION})")


@dataclass
class Sentiment(Record):
    label: str  # negative | neutral | positive
    compound: float
    vader_compound: float = 0.0
    uncertain: bool = False

    def validate(self) -> None:
        if self.label not in {"negative", "neutral", "positive"}:
            raise SchemaError(f"field 'label': {self.label!r} is not negative, neutral or positive")
        if not -1.0 <= self.compound <= 1.0:
            raise SchemaError("field 'compound': must be within -1..1")


@dataclass
class Priority(Record):
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class ScoredMention(Record):
    """A mention with the stream's judgement. Topic: mentions.scored (keyed by brand).

    The loyalty ID itself never travels here (it stays in the SQL database): only whether the author is a
    linked member and the tier, which is what ranking and the index need.
    """

    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("scored_at",)

    mention: Mention
    sentiment: Sentiment
    lexicon_version: str
    scored_at: str
    categories: list[str] = field(default_factory=list)
    intent: str = "other"
    priority: Priority = field(default_factory=lambda: Priority(0.0))
    linked: bool = False
    tier: str | None = None
    v: int = SCHEMA_VERSION

    def validate(self) -> None:
        if self.intent not in {"complaint", "question", "praise", "other"}:
            raise SchemaError(f"field 'intent': {self.intent!r} is not complaint, question, praise or other")


@dataclass
class SpikeAlert(Record):
    """An unusual rise (or a drop to silence) in negative mentions. Topic: alerts.spikes.

    `dedupe_key` is stable for one incident: updates of an incident carry the same key.
    """

    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("window_start", "window_end", "detected_at")

    dedupe_key: str
    kind: str  # spike | silence
    brand: str
    window_start: str
    window_end: str
    observed: float
    expected: float
    score: float  # how unusual: higher is rarer
    detected_at: str
    category: str | None = None
    severity: str = "warning"  # info | warning | critical
    status: str = "open"  # open | update | resolved
    top_terms: list[str] = field(default_factory=list)
    sample_ids: list[str] = field(default_factory=list)
    v: int = SCHEMA_VERSION

    def validate(self) -> None:
        if self.kind not in {"spike", "silence"}:
            raise SchemaError(f"field 'kind': {self.kind!r} is not spike or silence")
        if self.severity not in {"info", "warning", "critical"}:
            raise SchemaError(f"field 'severity': {self.severity!r} is not info, warning or critical")
        if self.status not in {"open", "update", "resolved"}:
            raise SchemaError(f"field 'status': {self.status!r} is not open, update or resolved")


@dataclass
class IdentityLink(Record):
    """A social handle linked to a loyalty member. Topic: identity.links (compacted, key platform:handle).

    An unlink is a tombstone (null value) for the key.
    """

    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("linked_at",)

    platform: str
    handle: str
    loyalty_id: str
    linked_at: str
    tier: str | None = None
    verified: bool = False
    v: int = SCHEMA_VERSION

    @property
    def key(self) -> str:
        return link_key(self.platform, self.handle)


def link_key(platform: str, handle: str) -> str:
    """Handles are case-insensitive on every platform we listen to; the @ is decoration."""
    return f"{platform.lower()}:{handle.lower().lstrip('@')}"


@dataclass
class DeadLetter(Record):
    """A message a component could not process, with why. Topic: mentions.deadletter."""

    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("failed_at",)

    reason: str
    stage: str  # which component rejected it: worker | indexer | listener:<name> | ...
    original: str  # the original bytes, decoded as UTF-8 with replacement, or base64 when binary
    failed_at: str
    original_encoding: str = "utf-8"  # utf-8 | base64
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    v: int = SCHEMA_VERSION


def now_iso(clock: typing.Callable[[], datetime] | None = None) -> str:
    return format_time((clock or (lambda: datetime.now(UTC)))())


class SpikeInput(typing.NamedTuple):
    """What spike detection reads from a mentions.scored message."""

    id: str
    brand: str
    created_at: datetime
    negative: bool
    categories: tuple[str, ...]
    text: str


def spike_input(raw: bytes | str) -> SpikeInput:
    """The fields of a mentions.scored message that spike detection uses, type-checked, without building the
    whole ScoredMention: the worker's spike agent reads every scored mention, and the full validation was
    two thirds of its cost. The indexer still validates every message in full (and dead-letters it)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SchemaError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:  # hostile nesting: the same refusal as Record.from_json
        raise SchemaError("not valid JSON: nested too deeply") from exc
    try:
        mention, sentiment = data["mention"], data["sentiment"]
        mention_id, brand, text = mention["id"], mention.get("brand", ""), mention["text"]
        created, label, categories = mention["created_at"], sentiment["label"], data.get("categories", [])
    except (ValueError, KeyError, TypeError) as exc:
        raise SchemaError(f"not a scored mention: {exc}") from exc
    if not all(isinstance(v, str) for v in (mention_id, brand, text, created, label)):
        raise SchemaError("not a scored mention: id, brand, text, created_at and label must be strings")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise SchemaError("field 'categories': expected a list of strings")
    if label not in {"negative", "neutral", "positive"}:
        raise SchemaError(f"field 'label': {label!r} is not negative, neutral or positive")
    return SpikeInput(mention_id, brand, parse_time(created), label == "negative", tuple(categories), text)
