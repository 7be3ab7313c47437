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

    __slots__ = ("_sorted", "author", "keys_at", "lang", "positions", "source")

    def __init__(self, post: Post) -> None:
        self.author = normalise_handle(post.author)
        self.lang = normalise_lang(post.lang)
        self.source = normalise(post.source.strip())
        self.positions: dict[Key, list[int]] = {}
        self.keys_at: list[tuple[Key, ...]] = []
        self._sorted: dict[str, list[str]] = {}
        for i, (kind, text) in enumerate(tokenise(normalise(post.text))):
            keys: tuple[Key, ...]
            if kind == WORD:
                keys = ((WORD, text),)
            elif kind == HASHTAG:
                keys = ((HASHTAG, text), (WORD, text))
            else:
                local = text.split("@", 1)[0]
                keys = ((HANDLE, text), (WORD, local)) if local == text else (
                    (HANDLE, text), (HANDLE, local), (WORD, local))
            self.keys_at.append(keys)
            for key in keys:
                found = self.positions.get(key)
                if found is None:
                    self.positions[key] = [i]
                else:
                    found.append(i)

    def __len__(self) -> int:
        return len(self.keys_at)

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
