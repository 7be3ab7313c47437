"""The rule syntax tree. Columns are kept for messages but take no part in equality."""

from __future__ import annotations

from dataclasses import dataclass, field

from listeners.rules.text import WORD

FIELDS = ("author", "lang", "source")


@dataclass(frozen=True)
class Element:
    """One token of a term or phrase; `prefix` means a trailing wildcard (`refund*`)."""

    kind: str  # text.WORD | text.HASHTAG | text.HANDLE
    text: str
    prefix: bool = False

    def render(self) -> str:
        sigil = "" if self.kind == WORD else self.kind
        return f"{sigil}{self.text}{'*' if self.prefix else ''}"


@dataclass(frozen=True)
class Text:
    """A term (one element) or an exact phrase (consecutive elements)."""

    elements: tuple[Element, ...]
    column: int = field(default=0, compare=False)
    raw: str = field(default="", compare=False)  # as written, for hints about lowercase operators

    def render(self) -> str:
        inner = " ".join(e.render() for e in self.elements)
        return inner if len(self.elements) == 1 else f'"{inner}"'


@dataclass(frozen=True)
class Field:
    name: str  # one of FIELDS
    value: str
    column: int = field(default=0, compare=False)

    def render(self) -> str:
        return f"{self.name}:{self.value}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Near:
    """Both sides within `distance` words of each other (words in between), in either order."""

    left: Node
    right: Node
    distance: int


Node = Text | Field | And | Or | Not | Near


def render(node: Node) -> str:
    """Canonical text of a rule: parsing it gives back an equal tree."""
    if isinstance(node, Text | Field):
        return node.render()
    if isinstance(node, And):
        return " AND ".join(_wrap(c, Or) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(render(c) if not isinstance(c, Or) else f"({render(c)})" for c in node.children)
    if isinstance(node, Not):
        inner = render(node.child)
        return f"NOT {inner}" if isinstance(node.child, Text | Field | Not) else f"NOT ({inner})"
    return f"{_wrap(node.left, And | Or | Not)} NEAR/{node.distance} {_wrap(node.right, And | Or | Not | Near)}"


def _wrap(node: Node, kinds: object) -> str:
    inner = render(node)
    return f"({inner})" if isinstance(node, kinds) else inner  # type: ignore[arg-type]


def is_positional(node: Node) -> bool:
    """Nodes with word positions, which NEAR can measure: terms, phrases, OR groups of them, NEARs."""
    if isinstance(node, Text | Near):
        return True
    if isinstance(node, Or):
        return all(is_positional(c) for c in node.children)
    return False
