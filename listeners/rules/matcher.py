"""Compile a syntax tree once into small matcher objects that test a TokenizedPost with dict/set lookups.

`test` is the hot path (short-circuits); `explain` runs only for rules that matched and says which
positive terms made the match, which is what an admin previewing a rule wants to see.
"""

from __future__ import annotations

from typing import Protocol

from listeners.rules.nodes import And, Element, Field, Node, Not, Or, Text
from listeners.rules.post import Key, TokenizedPost

Span = tuple[int, int]  # first and last token position, inclusive


class Matcher(Protocol):
    def test(self, post: TokenizedPost) -> bool: ...

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]: ...

    def anchors(self) -> frozenset[Key] | None:
        """Keys of which at least one must be in a post for a match; None when no such set exists."""
        ...


class Positional(Matcher, Protocol):
    def spans(self, post: TokenizedPost) -> list[Span]: ...


def _has(post: TokenizedPost, i: int, el: Element) -> bool:
    if not el.prefix:
        return (el.kind, el.text) in post.keys_at[i]
    return any(k[0] == el.kind and k[1].startswith(el.text) for k in post.keys_at[i])


def _positions(post: TokenizedPost, el: Element) -> list[int]:
    if el.prefix:
        return post.prefix_positions(el.kind, el.text)
    return post.positions.get((el.kind, el.text), [])


class TextMatcher:
    __slots__ = ("elements", "first", "key", "label", "rest")

    def __init__(self, node: Text) -> None:
        self.elements = node.elements
        self.first = node.elements[0]
        self.rest = node.elements[1:]
        self.label = node.render()
        single = len(node.elements) == 1 and not self.first.prefix
        self.key: Key | None = (self.first.kind, self.first.text) if single else None

    def spans(self, post: TokenizedPost) -> list[Span]:
        starts = _positions(post, self.first)
        if not self.rest:
            return [(i, i) for i in starts]
        last, size = len(post) - len(self.rest), len(self.rest)
        return [(s, s + size) for s in starts
                if s < last and all(_has(post, s + 1 + k, el) for k, el in enumerate(self.rest))]

    def test(self, post: TokenizedPost) -> bool:
        if self.key is not None:
            return self.key in post.positions
        if not self.rest:
            return post.has_prefix(self.first.kind, self.first.text)
        return bool(self.spans(post))

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]:
        ok = self.test(post)
        return ok, [self.label] if ok else []

    def anchors(self) -> frozenset[Key] | None:
        exact = [e for e in self.elements if not e.prefix]
        return frozenset({(exact[0].kind, exact[0].text)}) if exact else None


class FieldMatcher:
    __slots__ = ("label", "name", "value")

    def __init__(self, node: Field) -> None:
        self.name, self.value, self.label = node.name, node.value, node.render()

    def test(self, post: TokenizedPost) -> bool:
        if self.name == "author":
            return post.author == self.value
        if self.name == "source":
            return post.source == self.value
        return post.lang == self.value or post.lang.startswith(self.value + "-")  # lang:en finds en-gb

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]:
        ok = self.test(post)
        return ok, [self.label] if ok else []

    def anchors(self) -> frozenset[Key] | None:
        return None


class AndMatcher:
    __slots__ = ("children",)

    def __init__(self, children: list[Matcher]) -> None:
        # cheap exact lookups first, so most posts are rejected before any phrase or NEAR work
        self.children = sorted(children, key=lambda c: 0 if isinstance(c, TextMatcher) and c.key else 1)

    def test(self, post: TokenizedPost) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop is faster than all() on the hot path
            if not child.test(post):
                return False
        return True

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]:
        terms: list[str] = []
        for child in self.children:
            ok, found = child.explain(post)
            if not ok:
                return False, []
            terms += found
        return True, terms

    def anchors(self) -> frozenset[Key] | None:
        sets = [a for a in (c.anchors() for c in self.children) if a is not None]
        return min(sets, key=len) if sets else None


class OrMatcher:
    __slots__ = ("children",)

    def __init__(self, children: list[Matcher]) -> None:
        self.children = children

    def test(self, post: TokenizedPost) -> bool:
        for child in self.children:  # noqa: SIM110 - a plain loop is faster than any() on the hot path
            if child.test(post):
                return True
        return False

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]:
        terms: list[str] = []
        matched = False
        for child in self.children:
            ok, found = child.explain(post)
            matched |= ok
            terms += found
        return matched, terms

    def spans(self, post: TokenizedPost) -> list[Span]:
        return [s for child in self.children for s in child.spans(post)]  # type: ignore[attr-defined]

    def anchors(self) -> frozenset[Key] | None:
        union: set[Key] = set()
        for child in self.children:
            a = child.anchors()
            if a is None:
                return None
            union |= a
        return frozenset(union)


class NotMatcher:
    __slots__ = ("child",)

    def __init__(self, child: Matcher) -> None:
        self.child = child

    def test(self, post: TokenizedPost) -> bool:
        return not self.child.test(post)

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]:
        return not self.child.test(post), []

    def anchors(self) -> frozenset[Key] | None:
        return None


class NearMatcher:
    __slots__ = ("distance", "left", "right")

    def __init__(self, left: Positional, right: Positional, distance: int) -> None:
        self.left, self.right, self.distance = left, right, distance

    def spans(self, post: TokenizedPost) -> list[Span]:
        lefts = self.left.spans(post)
        if not lefts:
            return []
        found: list[Span] = []
        for rs, re_ in self.right.spans(post):
            for ls, le in lefts:
                # words strictly between the two; overlapping spans are one occurrence, not two
                gap = rs - le - 1 if le < rs else ls - re_ - 1 if re_ < ls else -1
                if 0 <= gap <= self.distance:
                    found.append((min(ls, rs), max(le, re_)))
        return found

    def test(self, post: TokenizedPost) -> bool:
        return bool(self.spans(post))

    def explain(self, post: TokenizedPost) -> tuple[bool, list[str]]:
        if not self.test(post):
            return False, []
        return True, self.left.explain(post)[1] + self.right.explain(post)[1]

    def anchors(self) -> frozenset[Key] | None:
        sets = [a for a in (self.left.anchors(), self.right.anchors()) if a is not None]
        return min(sets, key=len) if sets else None


def compile_node(node: Node) -> Matcher:
    if isinstance(node, Text):
        return TextMatcher(node)
    if isinstance(node, Field):
        return FieldMatcher(node)
    if isinstance(node, And):
        return AndMatcher([compile_node(c) for c in node.children])
    if isinstance(node, Or):
        return OrMatcher([compile_node(c) for c in node.children])
    if isinstance(node, Not):
        return NotMatcher(compile_node(node.child))
    left, right = compile_node(node.left), compile_node(node.right)
    return NearMatcher(left, right, node.distance)  # type: ignore[arg-type]  # parser admits positional only


class CompiledRule:
    """A parsed and compiled expression; `terms` lists the positive terms that made a match."""

    __slots__ = ("_matcher", "anchors", "node", "query")

    def __init__(self, query: str, node: Node) -> None:
        self.query = query
        self.node = node
        self._matcher = compile_node(node)
        self.anchors = self._matcher.anchors()

    def test(self, post: TokenizedPost) -> bool:
        return self._matcher.test(post)

    def terms(self, post: TokenizedPost) -> tuple[str, ...]:
        ok, found = self._matcher.explain(post)
        return tuple(dict.fromkeys(found)) if ok else ()
