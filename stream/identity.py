"""The handle -> loyalty link table the stream enriches mentions from (fed by the compacted identity.links)."""

from __future__ import annotations

from dataclasses import dataclass

from stream.schema import IdentityLink, SchemaError, link_key


@dataclass(frozen=True)
class LinkInfo:
    loyalty_id: str
    tier: str | None
    verified: bool


class IdentityTable:
    """A plain dict with the topic's semantics: the last value per key wins, a null value unlinks."""

    def __init__(self) -> None:
        self._links: dict[str, LinkInfo] = {}

    def apply(self, key: bytes | str | None, value: bytes | None) -> str | None:
        """Apply one record of identity.links; returns an error text for a record that cannot be used."""
        if key is None:
            return "identity link without a key"
        k = key.decode() if isinstance(key, bytes) else key
        if value is None:
            self._links.pop(k, None)
            return None
        try:
            link = IdentityLink.from_json(value)
        except SchemaError as exc:
            return f"invalid identity link: {exc}"
        self._links[link.key] = LinkInfo(link.loyalty_id, link.tier, link.verified)
        return None

    def lookup(self, platform: str, handle: str) -> LinkInfo | None:
        return self._links.get(link_key(platform, handle))

    def __len__(self) -> int:
        return len(self._links)
