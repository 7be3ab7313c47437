"""Platform markup to plain text: Mastodon statuses and RSS summaries arrive as HTML."""

from __future__ import annotations

from html.parser import HTMLParser

_BREAKS = {"br", "p", "div", "li", "blockquote"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS and self.parts:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Tags dropped, entities decoded, paragraphs and line breaks kept as newlines."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).splitlines()
    return "\n".join(line.strip() for line in lines if line.strip())
