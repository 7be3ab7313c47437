"""How text is cut into searchable tokens: the same cutting is used for posts and for rule terms.

Using one tokenizer for both sides is what makes word boundaries behave: "@SouthwestAir's" gives the handle
`southwestair` plus a stray `s`, "bag!!" gives `bag`, and "northsouthwestern" stays one word that
`southwest` cannot match inside.
"""

from __future__ import annotations

import re
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

# The same grammar for pure-ASCII chunks (the bulk of posts), with the stdlib engine, which is faster here.
_ASCII_TOKEN: Final = re.compile(
    r"(?<![\w#@])\#(?P<tag>\w+)|(?<![\w@])@(?P<handle>\w+(?:[.\-]\w+)*(?:@\w+(?:[.\-]\w+)*)?)|(?P<word>\w+)",
    re.ASCII,
)


def normalise(text: str) -> str:
    """NFKC + casefold (NFKC again: casefolding can leave text un-normalised), emoji modifiers dropped."""
    if text.isascii():  # NFKC leaves ASCII alone and casefold is lower(): the common case, 10x cheaper
        return text.lower()
    # Modifiers go first: left in until after NFKC, a variation selector between a letter and its
    # combining accent stops them composing, and the result would not be normalised any more.
    text = text.translate(_DROP)
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def tokenise(normalised: str) -> list[tuple[str, str]]:
    """(kind, text) per token of already-normalised text; CJK characters are one token each (no spaces)."""
    tokens: list[tuple[str, str]] = []
    # Whitespace never joins tokens, so plain ASCII words skip the (slow) Unicode pattern entirely;
    # a chunk starts after whitespace, so the pattern's look-behinds see the same context as in the text.
    for chunk in normalised.split():
        if chunk.isascii() and chunk.isalnum():
            tokens.append((WORD, chunk))
        else:
            _tokenise_chunk(chunk, tokens)
    return tokens


def _tokenise_chunk(chunk: str, tokens: list[tuple[str, str]]) -> None:
    for m in (_ASCII_TOKEN if chunk.isascii() else _TOKEN).finditer(chunk):
        kind = m.lastgroup
        if kind == "tag":
            tokens.append((HASHTAG, m.group("tag")))
        elif kind == "handle":
            tokens.append((HANDLE, m.group("handle")))
        else:
            tokens.append((WORD, m.group(0)))
