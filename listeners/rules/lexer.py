"""Cut a rule into tokens, each with the 1-based column where it starts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from listeners.rules.errors import RuleError

MAX_RULE_CHARS: Final = 4000

LPAREN: Final = "("
RPAREN: Final = ")"
PHRASE: Final = "phrase"
TERM: Final = "term"
AND: Final = "AND"
OR: Final = "OR"
NOT: Final = "NOT"
MINUS: Final = "-"
NEAR: Final = "NEAR"
END: Final = "end"

_NEAR = re.compile(r"NEAR/(\d{1,3})")
_TERM_END = re.compile(r'[\s()"]')


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int
    distance: int = 0  # NEAR/n only

    def describe(self) -> str:
        if self.kind == END:
            return "end of rule"
        if self.kind == PHRASE:
            return f'"{self.text}"'
        return f"'{self.text}'"


def lex(rule: str) -> list[Token]:
    if len(rule) > MAX_RULE_CHARS:
        raise RuleError(f"rule is longer than {MAX_RULE_CHARS} characters", MAX_RULE_CHARS + 1)
    tokens: list[Token] = []
    i, n = 0, len(rule)
    while i < n:
        ch = rule[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, i + 1))
            i += 1
        elif ch == '"':
            close = rule.find('"', i + 1)
            if close < 0:
                raise RuleError("expected '\"'", n + 1, hint=f"to close the phrase opened at column {i + 1}")
            tokens.append(Token(PHRASE, rule[i + 1 : close], i + 1))
            i = close + 1
        elif ch == "-" and i + 1 < n and not rule[i + 1].isspace() and rule[i + 1] != ")":
            tokens.append(Token(MINUS, ch, i + 1))  # `-term` / `-"phrase"` / `-(group)` mean NOT
            i += 1
        else:
            end = _TERM_END.search(rule, i)
            stop = end.start() if end else n
            word = rule[i:stop]
            tokens.append(_word_token(word, i + 1))
            i = stop
    tokens.append(Token(END, "", n + 1))
    return tokens


def _word_token(word: str, column: int) -> Token:
    if word in (AND, OR, NOT):
        return Token(word, word, column)
    if word.startswith("NEAR"):
        m = _NEAR.fullmatch(word)
        if not m:
            raise RuleError("expected NEAR/n with a number of words (such as NEAR/3)", column)
        return Token(NEAR, word, column, int(m.group(1)))
    return Token(TERM, word, column)
