"""Recursive-descent parser: rule text -> syntax tree, or a RuleError that says what and where.

Precedence, loosest first: OR, AND (also implicit between neighbours), NOT / leading `-`, NEAR/n.
So `a b OR c` is `(a AND b) OR c`, and `NOT a NEAR/3 b` is `NOT (a NEAR/3 b)`.
"""

from __future__ import annotations

import re
from typing import Final

from listeners.rules import lexer
from listeners.rules.errors import RuleError
from listeners.rules.lexer import Token
from listeners.rules.nodes import FIELDS, And, Element, Field, Near, Node, Not, Or, Text, is_positional
from listeners.rules.post import normalise_handle, normalise_lang
from listeners.rules.text import normalise, tokenise

MAX_DEPTH: Final = 50  # parentheses and NOTs; deeper is not a rule anyone writes, and recursion has limits
MIN_PREFIX: Final = 2  # `a*` would match most posts

_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_LANG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{1,8})*")
_STARTS_OPERAND = {lexer.TERM, lexer.PHRASE, lexer.LPAREN, lexer.NOT, lexer.MINUS}


def parse_rule(rule: str) -> Node:
    """Parse one rule expression. Raises RuleError (and only RuleError) for anything it cannot read."""
    return _Parser(lexer.lex(rule)).parse()


def pattern_from_text(raw: str, column: int) -> tuple[Element, ...]:
    """Elements of a term or phrase as written; the same tokenizer as posts, plus trailing wildcards."""
    elements: list[Element] = []
    for m in re.finditer(r"\S+", raw):
        chunk, col = m.group(0), column + m.start()
        star = chunk.find("*")
        if 0 <= star < len(chunk) - 1:
            raise RuleError("'*' may only end a word (as in refund*)", col + star)
        prefix = chunk.endswith("*")
        tokens = tokenise(normalise(chunk.rstrip("*")))
        if not tokens:
            raise RuleError(f"nothing to search for in {chunk!r} (no letters, digits or emoji)", col)
        parts = [Element(kind, text) for kind, text in tokens]
        if prefix:
            last = parts[-1]
            if len(last.text) < MIN_PREFIX:
                raise RuleError(f"a wildcard needs at least {MIN_PREFIX} characters before '*'", col)
            parts[-1] = Element(last.kind, last.text, prefix=True)
        elements.extend(parts)
    if not elements:
        raise RuleError("empty phrase", column)
    return tuple(elements)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == lexer.END:
            raise RuleError("empty rule: expected a term, phrase or '('", self.tok.column)
        node = self.parse_or()
        if self.tok.kind == lexer.RPAREN:
            raise RuleError("unexpected ')' with no '(' before it", self.tok.column)
        if self.tok.kind != lexer.END:  # pragma: no cover - parse_and consumes every operand start
            raise RuleError(f"unexpected {self.tok.describe()}", self.tok.column)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.tok.kind == lexer.OR:
            self.advance()
            children.append(self.parse_and())
        return _flat(Or, children)

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            if self.tok.kind == lexer.AND:
                self.advance()
                children.append(self.parse_unary())
            elif self.tok.kind in _STARTS_OPERAND:
                children.append(self.parse_unary())  # implicit AND
            else:
                return _flat(And, children)

    def parse_unary(self) -> Node:
        if self.tok.kind in (lexer.NOT, lexer.MINUS):
            self.enter(self.advance().column)
            child = self.parse_unary()
            self.depth -= 1
            return Not(child)
        return self.parse_near()

    def parse_near(self) -> Node:
        start = self.tok
        left = self.parse_primary()
        while self.tok.kind == lexer.NEAR:
            near = self.advance()
            if not is_positional(left):
                raise RuleError(f"{near.text} measures terms, phrases and OR groups; the left side is not one",
                                start.column)
            right_start = self.tok
            right = self.parse_primary(after=near.text)
            if not is_positional(right):
                raise RuleError(f"{near.text} measures terms, phrases and OR groups; the right side is not one",
                                right_start.column)
            left = Near(left, right, near.distance)
        return left

    def parse_primary(self, after: str = "") -> Node:
        tok = self.tok
        if tok.kind == lexer.LPAREN:
            self.advance()
            self.enter(tok.column)
            node = self.parse_or()
            if self.tok.kind != lexer.RPAREN:
                raise RuleError("expected ')'", self.tok.column,
                                hint=f"found {self.tok.describe()}; the '(' is at column {tok.column}")
            self.advance()
            self.depth -= 1
            return node
        if tok.kind == lexer.PHRASE:
            self.advance()
            return Text(pattern_from_text(tok.text, tok.column + 1), tok.column, f'"{tok.text}"')
        if tok.kind == lexer.TERM:
            self.advance()
            return _term(tok)
        what = f"after {after} " if after else ""
        raise RuleError(f"expected a term, phrase or '(' {what}".rstrip(), tok.column, hint=f"found {tok.describe()}")

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleError(f"nested more than {MAX_DEPTH} levels deep", column)


def _term(tok: Token) -> Node:
    m = _FIELD.fullmatch(tok.text)
    if m and not m.group(2).startswith("//"):  # `https://...` is text, not a field
        name, value = m.group(1).lower(), m.group(2)
        if name not in FIELDS:
            raise RuleError(f"unknown field {m.group(1)!r} (known: {', '.join(FIELDS)})", tok.column)
        return _field(name, value, tok.column)
    return Text(pattern_from_text(tok.text, tok.column), tok.column, tok.text)


def _field(name: str, value: str, column: int) -> Field:
    value_col = column + len(name) + 1
    if not value:
        raise RuleError(f"expected a value after '{name}:'", value_col)
    if "*" in value:
        raise RuleError(f"wildcards are not supported in {name}:", value_col + value.index("*"))
    if name == "author":
        norm = normalise_handle(value)
    elif name == "lang":
        norm = normalise_lang(value)
        if not _LANG.fullmatch(norm):
            raise RuleError(f"{value!r} is not a language code (such as en or pt-br)", value_col)
    else:
        norm = normalise(value)
    if not norm:
        raise RuleError(f"expected a value after '{name}:'", value_col)
    return Field(name, norm, column)


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat))
