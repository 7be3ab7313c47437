"""What the scorer reads of a hostile text: bounded in length, without invisible controls.

Mention text is untrusted. VADER's "but" check and the phrase matching grow faster than linearly with the
number of words, so a 60 kB post of sentiment words takes most of a second where a real post takes well
under a millisecond; a cap on the characters scored bounds the work per mention (posts on the platforms we
read are at most a few thousand characters; the whole text is still stored and searchable).
"""

from __future__ import annotations

import re

MAX_SCORED_CHARS = 4_000
# C0/C1 controls (but tab and newlines) and the bidirectional overrides, marks and isolates: they carry no
# sentiment and can hide or reorder words (RTL tricks), so the scorer reads the text without them.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def scorable(text: str, limit: int = MAX_SCORED_CHARS) -> str:
    """The part of `text` the scorer reads: the first `limit` characters (cut at a word), without controls."""
    if len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit)
        text = text[: cut if cut > 0 else limit]
    if text.isascii() and text.isprintable():  # no control character at all: most posts, without a regex pass
        return text
    return _INVISIBLE.sub("", text)
