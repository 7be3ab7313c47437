"""Catch rules that would never match or would flood the queue, before they are saved.

A rule is read as a boolean formula over atoms (a term or phrase is present, a field has a value, a NEAR
holds). What we know of posts becomes constraints: a phrase implies its words, `refunds` implies
`refund*`, `#tag` implies the word `tag`, a NEAR implies both sides, a post has one author/lang/source.
Then: unsatisfiable -> never matches; true when nothing is present -> matches everything; true with no
text present -> matches on author/lang/source alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Final, Literal

from listeners.rules.nodes import And, Element, Field, Near, Node, Not, Or, Text, render
from listeners.rules.text import HANDLE, HASHTAG, WORD

Severity = Literal["error", "warning"]
MAX_STEPS: Final = 20_000  # search budget; past it a rule is reported as not analysed, never as wrong


@dataclass(frozen=True)
class Finding:
    severity: Severity
    message: str


# Formula: ("atom", key) | ("and", tuple) | ("or", tuple) | ("not", f) | ("const", bool)
Formula = tuple[object, ...]


def _atom_key(node: Text | Field | Near) -> str:
    return render(node)


def _to_formula(node: Node, atoms: dict[str, Text | Field | Near]) -> Formula:
    if isinstance(node, Text | Field | Near):
        key = _atom_key(node)
        atoms[key] = node
        if isinstance(node, Near):  # register the sides' atoms too, for the implications
            _to_formula(node.left, atoms)
            _to_formula(node.right, atoms)
        return ("atom", key)
    if isinstance(node, And):
        return ("and", tuple(_to_formula(c, atoms) for c in node.children))
    if isinstance(node, Or):
        return ("or", tuple(_to_formula(c, atoms) for c in node.children))
    return ("not", _to_formula(node.child, atoms))


def _element_implies(a: Element, b: Element) -> bool:
    """A post token matching `a` always matches `b`."""
    if b.kind == WORD:
        ok_kind = a.kind in (WORD, HASHTAG) or (a.kind == HANDLE and "@" not in a.text)
    else:
        ok_kind = a.kind == b.kind
    if not ok_kind:
        return False
    if b.prefix:
        return a.text.startswith(b.text)
    return not a.prefix and a.text == b.text


def _text_implies(a: Text, b: Text) -> bool:
    ea, eb = a.elements, b.elements
    return any(all(_element_implies(ea[o + k], eb[k]) for k in range(len(eb)))
               for o in range(len(ea) - len(eb) + 1))


def _lang_implies(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "-")


def _constraints(atoms: dict[str, Text | Field | Near]) -> list[Formula]:
    out: list[Formula] = []
    for (ka, a), (kb, b) in permutations(atoms.items(), 2):
        implies = False
        if isinstance(a, Text) and isinstance(b, Text):
            implies = _text_implies(a, b)
        elif isinstance(a, Field) and isinstance(b, Field) and a.name == b.name:
            if a.name == "lang" and _lang_implies(a.value, b.value):
                implies = True
            elif not (a.name == "lang" and _lang_implies(b.value, a.value)) and ka < kb:
                out.append(("not", ("and", (("atom", ka), ("atom", kb)))))  # one value per post
        if implies:
            out.append(("or", (("not", ("atom", ka)), ("atom", kb))))
    for key, node in atoms.items():
        if isinstance(node, Near):
            for side in (node.left, node.right):
                out.append(("or", (("not", ("atom", key)), _to_formula(side, {}))))
    return out


def _eval(f: Formula, env: dict[str, bool]) -> bool | None:
    op = f[0]
    if op == "atom":
        return env.get(str(f[1]))
    if op == "const":
        return bool(f[1])
    if op == "not":
        v = _eval(f[1], env)  # type: ignore[arg-type]
        return None if v is None else not v
    unknown = False
    stop = op == "or"  # the value that decides an OR (True) or an AND (False)
    for child in f[1]:  # type: ignore[attr-defined]
        v = _eval(child, env)
        if v is stop:
            return stop
        unknown |= v is None
    return None if unknown else not stop


class _Budget(Exception):
    pass


def _satisfiable(f: Formula, order: list[str], env: dict[str, bool], steps: list[int]) -> bool:
    steps[0] += 1
    if steps[0] > MAX_STEPS:
        raise _Budget
    v = _eval(f, env)
    if v is not None:
        return v
    atom = next(a for a in order if a not in env)
    for value in (True, False):
        env[atom] = value
        if _satisfiable(f, order, env, steps):
            del env[atom]
            return True
        del env[atom]
    return False


def analyse(node: Node) -> list[Finding]:
    """Findings about one parsed rule; errors mean it must not go live as written."""
    atoms: dict[str, Text | Field | Near] = {}
    formula = _to_formula(node, atoms)
    whole: Formula = ("and", (formula, *_constraints(atoms)))
    order = list(atoms)
    findings = _lowercase_operators(node)
    try:
        if not _satisfiable(whole, order, {}, [0]):
            return [*findings, Finding("error", "can never match: its conditions contradict each other")]
        if _eval(formula, dict.fromkeys(order, False)):
            return [*findings, Finding("error", "matches every post: it needs no word to be present "
                                                "(a rule of only NOT terms matches everything else)")]
        no_text = {k: False for k, a in atoms.items() if not isinstance(a, Field)}
        no_author = no_text | {k: False for k, a in atoms.items() if isinstance(a, Field) and a.name == "author"}
        if _satisfiable(whole, order, no_author, [0]):
            findings.append(Finding("error", "matches every post of a language or source, whatever the text: "
                                             "add a term that must be present"))
        elif _satisfiable(whole, order, no_text, [0]):
            findings.append(Finding("warning", "matches every post of an author, whatever the text"))
    except _Budget:
        findings.append(Finding("warning", "too many terms to check for contradictions; not analysed"))
    return findings


def _lowercase_operators(node: Node) -> list[Finding]:
    found: list[Finding] = []

    def walk(n: Node) -> None:
        if isinstance(n, Text):
            if n.raw in ("and", "or", "not", "And", "Or", "Not"):
                found.append(Finding("warning", f"{n.raw!r} at column {n.column} is searched as a word; "
                                                f"operators are written in capitals ({n.raw.upper()})"))
        elif isinstance(n, And | Or):
            for c in n.children:
                walk(c)
        elif isinstance(n, Not):
            walk(n.child)
        elif isinstance(n, Near):
            walk(n.left)
            walk(n.right)

    walk(node)
    return found
