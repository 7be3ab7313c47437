"""Rule sets: per brand its own rules, competitor rules, topic rules, exclusions and fixture posts.

A rule set is plain data (`to_dict` / `ruleset_from_dict`, the YAML file has the same shape) so it can
travel as JSON on the compacted listen.rules topic; every expression is compiled once, when the set is built.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from listeners.rules.analysis import Finding, analyse
from listeners.rules.errors import RuleError
from listeners.rules.matcher import CompiledRule
from listeners.rules.parser import parse_rule
from listeners.rules.post import Key, Post, TokenizedPost

FORMAT_VERSION: Final = 1
DEFAULT_RULES_PATH: Final = Path(__file__).with_name("default_rules.yaml")


@dataclass(frozen=True)
class RuleMatch:
    brand: str
    rule_id: str
    competitor: bool
    topics: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    id: str
    query: str


@dataclass(frozen=True)
class Competitor:
    name: str
    rules: tuple[Rule, ...]
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topic:
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Fixture:
    """A post that must (expect_match) or must not match `brand` (None: must match no brand at all)."""

    post: Post
    expect_match: bool
    brand: str | None
    topics: tuple[str, ...] = ()
    where: str = ""


@dataclass(frozen=True)
class Brand:
    name: str
    rules: tuple[Rule, ...]
    competitors: tuple[Competitor, ...] = ()
    topics: tuple[Topic, ...] = ()
    exclude: tuple[str, ...] = ()
    fixtures: tuple[Fixture, ...] = ()


@dataclass(frozen=True)
class RuleRef:
    """Where an expression sits in a set, for messages, analysis and fixtures."""

    where: str
    id: str
    query: str
    role: str  # rule | competitor | topic | exclude


@dataclass
class _Target:
    name: str
    competitor: bool
    rules: list[tuple[int, Rule, CompiledRule]]
    exclude: list[CompiledRule]
    topics: list[tuple[str, list[CompiledRule]]]


class RuleSet:
    def __init__(self, brands: tuple[Brand, ...], fixtures: tuple[Fixture, ...] = (),
                 version: int = FORMAT_VERSION) -> None:
        self.version = version
        self.brands = brands
        self.fixtures = fixtures
        self._compiled: dict[str, CompiledRule] = {}
        self._targets: list[_Target] = []
        self._always: set[int] = set()  # rules with no anchor word: tested on every post
        self._index: dict[Key, list[int]] = {}
        self._slots: list[tuple[int, Rule, CompiledRule]] = []  # slot -> (target index, rule, compiled)
        self._build()

    # -- building ---------------------------------------------------------------------------------------
    def refs(self) -> Iterator[RuleRef]:
        for b in self.brands:
            for r in b.rules:
                yield RuleRef(f"{b.name}: rule {r.id}", r.id, r.query, "rule")
            for c in b.competitors:
                for r in c.rules:
                    yield RuleRef(f"{b.name}: competitor {c.name} rule {r.id}", r.id, r.query, "competitor")
                for i, q in enumerate(c.exclude):
                    yield RuleRef(f"{b.name}: competitor {c.name} exclude[{i}]", "", q, "exclude")
            for t in b.topics:
                for r in t.rules:
                    yield RuleRef(f"{b.name}: topic {t.name} rule {r.id}", r.id, r.query, "topic")
            for i, q in enumerate(b.exclude):
                yield RuleRef(f"{b.name}: exclude[{i}]", "", q, "exclude")

    def _compile(self, ref: RuleRef) -> CompiledRule:
        cached = self._compiled.get(ref.query)
        if cached is None:
            try:
                cached = CompiledRule(ref.query, parse_rule(ref.query))
            except RuleError as exc:
                raise exc.located(ref.where) from None
            self._compiled[ref.query] = cached
        return cached

    def _build(self) -> None:
        seen: set[str] = set()
        names: set[str] = set()
        for ref in self.refs():
            if ref.id:
                if ref.id in seen:
                    raise RuleError(f"rule id {ref.id!r} is used twice", where=ref.where)
                seen.add(ref.id)
            self._compile(ref)
        for b in self.brands:
            if b.name in names:
                raise RuleError(f"brand {b.name!r} is listed twice", where=b.name)
            names.add(b.name)
            topics = [(t.name, [self._compiled[r.query] for r in t.rules]) for t in b.topics]
            self._add_target(b.name, False, b.rules, b.exclude, topics)
            for c in b.competitors:
                self._add_target(c.name, True, c.rules, c.exclude, topics)

    def _add_target(self, name: str, competitor: bool, rules: tuple[Rule, ...], exclude: tuple[str, ...],
                    topics: list[tuple[str, list[CompiledRule]]]) -> None:
        slots: list[tuple[int, Rule, CompiledRule]] = []
        for rule in rules:
            compiled = self._compiled[rule.query]
            slot = len(self._slots)
            self._slots.append((len(self._targets), rule, compiled))
            if compiled.anchors is None:
                self._always.add(slot)
            else:
                for key in compiled.anchors:
                    self._index.setdefault(key, []).append(slot)
            slots.append((slot, rule, compiled))
        self._targets.append(_Target(name, competitor, slots, [self._compiled[q] for q in exclude], topics))

    # -- matching ---------------------------------------------------------------------------------------
    def match(self, post: Post) -> list[RuleMatch]:
        tokens = TokenizedPost(post)
        candidates = set(self._always)
        index = self._index
        for key in tokens.positions:
            slots = index.get(key)
            if slots:
                candidates.update(slots)
        hits: dict[int, list[tuple[Rule, CompiledRule]]] = {}
        for slot in sorted(candidates):  # sorted: matches come out in file order
            target, rule, compiled = self._slots[slot]
            if compiled.test(tokens):
                hits.setdefault(target, []).append((rule, compiled))
        found: list[RuleMatch] = []
        for target_index, matched in hits.items():
            t = self._targets[target_index]
            if any(x.test(tokens) for x in t.exclude):
                continue
            topics = tuple(name for name, rules in t.topics if any(r.test(tokens) for r in rules))
            found += [RuleMatch(t.name, rule.id, t.competitor, topics, c.terms(tokens)) for rule, c in matched]
        return found

    def compiled(self, query: str) -> CompiledRule:
        return self._compiled[query]

    def findings(self) -> list[tuple[RuleRef, Finding]]:
        """Analysis of every expression in the set (see analysis.py); errors should block a save."""
        return [(ref, f) for ref in self.refs() for f in analyse(self._compiled[ref.query].node)]

    # -- data -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def rules(rs: tuple[Rule, ...]) -> list[dict[str, str]]:
            return [{"id": r.id, "query": r.query} for r in rs]

        def fixtures(fs: tuple[Fixture, ...]) -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {"match": [], "no_match": []}
            for f in fs:
                item: dict[str, Any] = {"text": f.post.text}
                item.update({k: v for k in ("author", "lang", "source") if (v := getattr(f.post, k))})
                item["brand"] = f.brand
                if f.topics:
                    item["topics"] = list(f.topics)
                out["match" if f.expect_match else "no_match"].append(item)
            return out

        return {
            "version": self.version,
            "brands": [{
                "name": b.name,
                "rules": rules(b.rules),
                "competitors": [{"name": c.name, "rules": rules(c.rules), "exclude": list(c.exclude)}
                                for c in b.competitors],
                "topics": {t.name: rules(t.rules) for t in b.topics},
                "exclude": list(b.exclude),
                "fixtures": fixtures(b.fixtures),
            } for b in self.brands],
            "fixtures": fixtures(self.fixtures),
        }


# -- reading plain data (YAML or JSON decoded) -------------------------------------------------------------
def ruleset_from_dict(data: Any) -> RuleSet:
    """Validate decoded data and build the set; RuleError says which entry is wrong and why."""
    d = _mapping(data, "rule set", {"version", "brands", "fixtures"})
    version = d.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise RuleError(f"unsupported version {version!r} (this reader knows {FORMAT_VERSION})", where="version")
    brands = tuple(_brand(b, f"brands[{i}]") for i, b in enumerate(_list(d.get("brands"), "brands")))
    if not brands:
        raise RuleError("a rule set needs at least one brand", where="brands")
    fixtures = _fixtures(d.get("fixtures"), "fixtures", None)
    return RuleSet(brands, fixtures, version)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read a YAML (or JSON) rule file; without a path, the demo brands shipped with the package."""
    file = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"not valid YAML: {exc}", where=str(file)) from None
    return ruleset_from_dict(data)


def _mapping(value: Any, where: str, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RuleError(f"expected a mapping, got {type(value).__name__}", where=where)
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})", where=where)
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RuleError(f"expected a list, got {type(value).__name__}", where=where)
    return value


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError("expected a non-empty name", where=where)
    return value.strip()


def _query(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError("expected a rule expression (a non-empty string)", where=where)
    return value


def _rules(value: Any, where: str, owner: str) -> tuple[Rule, ...]:
    out = []
    for i, item in enumerate(_list(value, where)):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            out.append(Rule(f"{owner}/{i + 1}", _query(item, at)))
        else:
            m = _mapping(item, at, {"id", "query"})
            out.append(Rule(_name(m.get("id", f"{owner}/{i + 1}"), f"{at}.id"), _query(m.get("query"), f"{at}.query")))
    return tuple(out)


def _excludes(value: Any, where: str) -> tuple[str, ...]:
    return tuple(_query(q, f"{where}[{i}]") for i, q in enumerate(_list(value, where)))


def _brand(value: Any, where: str) -> Brand:
    m = _mapping(value, where, {"name", "rules", "competitors", "topics", "exclude", "fixtures"})
    name = _name(m.get("name"), f"{where}.name")
    rules = _rules(m.get("rules"), f"{where}.rules", name)
    if not rules:
        raise RuleError("a brand needs at least one rule", where=f"{where}.rules")
    competitors = []
    for i, c in enumerate(_list(m.get("competitors"), f"{where}.competitors")):
        at = f"{where}.competitors[{i}]"
        cm = _mapping(c, at, {"name", "rules", "exclude"})
        cname = _name(cm.get("name"), f"{at}.name")
        competitors.append(Competitor(cname, _rules(cm.get("rules"), f"{at}.rules", cname),
                                      _excludes(cm.get("exclude"), f"{at}.exclude")))
    topics_raw = m.get("topics") or {}
    if not isinstance(topics_raw, Mapping):
        raise RuleError("expected a mapping of topic name to rules", where=f"{where}.topics")
    topics = []
    for tname, trules in topics_raw.items():
        at = f"{where}.topics.{tname}"
        listed = [trules] if isinstance(trules, str) else trules
        topics.append(Topic(_name(tname, at), _rules(listed, at, f"{name}/{tname}")))
    return Brand(name, rules, tuple(competitors), tuple(topics), _excludes(m.get("exclude"), f"{where}.exclude"),
                 _fixtures(m.get("fixtures"), f"{where}.fixtures", name))


def _fixtures(value: Any, where: str, brand: str | None) -> tuple[Fixture, ...]:
    if value is None:
        return ()
    m = _mapping(value, where, {"match", "no_match"})
    out = []
    for kind in ("match", "no_match"):
        for i, item in enumerate(_list(m.get(kind), f"{where}.{kind}")):
            at = f"{where}.{kind}[{i}]"
            f = _mapping(item, at, {"text", "author", "lang", "source", "brand", "topics"})
            fields = {k: f.get(k, "") for k in ("text", "author", "lang", "source")}
            if not all(isinstance(v, str) for v in fields.values()) or not fields["text"]:
                raise RuleError("text, author, lang and source must be strings, and text not empty", where=at)
            expected = f.get("brand", brand)
            if expected is not None and not isinstance(expected, str):
                raise RuleError("brand must be a string", where=at)
            if kind == "match" and expected is None:
                raise RuleError("a match fixture needs the brand it must match", where=at)
            topics = tuple(str(t) for t in _list(f.get("topics"), f"{at}.topics"))
            out.append(Fixture(Post(**fields), kind == "match", expected, topics, at))
    return tuple(out)
