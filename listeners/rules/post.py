"""A post as the rules see it, and its tokenised form that every rule of a set shares."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from listeners.rules.text import HANDLE, HASHTAG, WORD, normalise, tokenise

Key = tuple[str, str]  # (kind, normalised text)


@dataclass(frozen=True)
class Post:
    text: str
    author: str = ""
    lang: str = ""
    source: str = ""


def normalise_handle(handle: str) -> str:
    return normalise(handle.strip()).lstrip("@")


def normalise_lang(lang: str) -> str:
    return normalise(lang.strip()).replace("_", "-")


class TokenizedPost:
    """Tokenised once per post; rules look tokens up by key (set/dict lookups), never rescan the text.

    A hashtag is also findable as a plain word, and a handle as its local part (`@bob@host` -> `bob`),
    so the term `skywayair` finds "#SkywayAir" and "@SkywayAir" while `#skywayair` finds only the tag.
    """

    __slots__ = ("_keys_at", "_sorted", "author", "lang", "positions", "source", "tokens")

    def __init__(self, post: Post) -> None:
        self.author = normalise_handle(post.author) if post.author else ""
        self.lang = normalise_lang(post.lang) if post.lang else ""
        self.source = normalise(post.source.strip()) if post.source else ""
        self.tokens = tokenise(normalise(post.text))
        self._keys_at: list[tuple[Key, ...]] | None = None
        self._sorted: dict[str, list[str]] = {}
        positions: dict[Key, list[int]] = {}
        get = positions.get
        for i, token in enumerate(self.tokens):
            for key in (token,) if token[0] == WORD else _keys(token):
                found = get(key)
                if found is None:
                    positions[key] = [i]
                else:
                    found.append(i)
        self.positions = positions

    @property
    def keys_at(self) -> list[tuple[Key, ...]]:
        """The keys at each position; only phrases need them, so they are built on first use."""
        if self._keys_at is None:
            self._keys_at = [(t,) if t[0] == WORD else _keys(t) for t in self.tokens]
        return self._keys_at

    def __len__(self) -> int:
        return len(self.tokens)

    def _texts(self, kind: str) -> list[str]:
        texts = self._sorted.get(kind)
        if texts is None:
            texts = sorted(t for k, t in self.positions if k == kind)
            self._sorted[kind] = texts
        return texts

    def prefix_positions(self, kind: str, prefix: str) -> list[int]:
        """Positions of tokens of `kind` starting with `prefix` (binary search over the sorted texts)."""
        texts = self._texts(kind)
        found: list[int] = []
        i = bisect_left(texts, prefix)
        while i < len(texts) and texts[i].startswith(prefix):
            found.extend(self.positions[(kind, texts[i])])
            i += 1
        return found

    def has_prefix(self, kind: str, prefix: str) -> bool:
        texts = self._texts(kind)
        i = bisect_left(texts, prefix)
        return i < len(texts) and texts[i].startswith(prefix)


def _keys(token: Key) -> tuple[Key, ...]:
    kind, text = token
    if kind == HASHTAG:
        return token, (WORD, text)
    local = text.split("@", 1)[0]
    return (token, (WORD, local)) if local == text else (token, (HANDLE, local), (WORD, local))
