"""How text is cut into searchable tokens: the same cutting is used for posts and for rule terms.

Using one tokenizer for both sides is what makes word boundaries behave: "@SouthwestAir's" gives the handle
`southwestair` plus a stray `s`, "bag!!" gives `bag`, and "northsouthwestern" stays one word that
`southwest` cannot match inside.
"""

from __future__ import annotations

import unicodedata
from typing import Final

import regex

WORD: Final = "w"
HASHTAG: Final = "#"
HANDLE: Final = "@"

# Presentation selectors, joiners and skin tones would otherwise make "👍🏽" differ from "👍".
_DROP: Final = {cp: None for cp in (0xFE0E, 0xFE0F, 0x200D, *range(0x1F3FB, 0x1F400))}

_W = r"[\w\p{M}]"  # regex's \w lacks combining marks, which Indic scripts need inside words
_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
_TOKEN: Final = regex.compile(
    rf"""
    (?<![\w\p{{M}}#@])\#(?P<tag>{_W}+)
  | (?<![\w\p{{M}}@])@(?P<handle>{_W}+(?:[.\-]{_W}+)*(?:@{_W}+(?:[.\-]{_W}+)*)?)
  | (?P<cjk>{_CJK})
  | (?P<word>[[\w\p{{M}}]--{_CJK}]+)
  | (?P<sym>[\p{{Extended_Pictographic}}\p{{So}}])
    """,
    regex.VERBOSE | regex.V1,
)


def normalise(text: str) -> str:
    """NFKC + casefold (NFKC again: casefolding can leave text un-normalised), emoji modifiers dropped."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.translate(_DROP)


def tokenise(normalised: str) -> list[tuple[str, str]]:
    """(kind, text) per token of already-normalised text; CJK characters are one token each (no spaces)."""
    tokens: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(normalised):
        kind = m.lastgroup
        if kind == "tag":
            tokens.append((HASHTAG, m.group("tag")))
        elif kind == "handle":
            tokens.append((HANDLE, m.group("handle")))
        else:
            tokens.append((WORD, m.group(0)))
    return tokens
