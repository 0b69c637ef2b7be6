"""Text as Telegram renders it: HTML parse mode to text plus entities, and UTF-16 lengths.

The bot sends HTML only (``Defaults(parse_mode=HTML)`` in bot/app.py), so HTML is the one
parse mode the fake reads; any other is answered with a 400 that says so.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fakes.telegram.wire import ApiError, JSONDict


class MarkupError(ValueError):
    """Text could not be parsed as Telegram's HTML."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode())


@dataclasses.dataclass
class _OpenTag:
    name: str
    etype: str
    start: int
    extra: JSONDict = dataclasses.field(default_factory=dict)


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[JSONDict] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def emit(self, etype: str, start: int, **extra: Any) -> None:
        if etype and self.pos > start:
            self.entities.append({"type": etype, "offset": start, "length": self.pos - start})
            self.entities[-1].update({k: v for k, v in extra.items() if v is not None})

    def result(self) -> tuple[str, list[JSONDict]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "pre": "pre",
}
_HTML_ATTR_RE = re.compile(r"""([A-Za-z_][\w-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_CHARREF_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{1,10});")


def _html_attrs(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _HTML_ATTR_RE.finditer(raw):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        attrs[match[1].lower()] = _html_unescape(value)
    return attrs


def _html_unescape(text: str) -> str:
    builder = _TextBuilder()
    index = 0
    while index < len(text):
        if text[index] == "&":
            index = _html_charref(text, index, builder)
        else:
            builder.add(text[index])
            index += 1
    return "".join(builder.parts)


def _html_charref(src: str, index: int, builder: _TextBuilder) -> int:
    match = _HTML_CHARREF_RE.match(src, index)
    if match is None:
        builder.add("&")
        return index + 1
    ref = match[1]
    if ref.startswith(("#x", "#X")):
        code = int(ref[2:], 16)
    elif ref.startswith("#"):
        code = int(ref[1:])
    else:
        builder.add(_HTML_NAMED.get(ref, match[0]))
        return match.end()
    builder.add(chr(code) if 0 < code <= 0x10FFFF else "")
    return match.end()


def _html_open(name: str, attrs: dict[str, str], builder: _TextBuilder, offset: int) -> _OpenTag:
    tag = _OpenTag(name, _HTML_SIMPLE.get(name, ""), builder.pos)
    if name in _HTML_SIMPLE:
        return tag
    if name == "span" and attrs.get("class") == "tg-spoiler":
        tag.etype = "spoiler"
    elif name == "a":
        tag.etype = "text_link" if attrs.get("href") else ""
        tag.extra["url"] = attrs.get("href")
    elif name == "code":
        tag.etype = "code"
        tag.extra["class"] = attrs.get("class", "")
    elif name == "blockquote":
        tag.etype = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    elif name == "tg-emoji":
        tag.etype = "custom_emoji"
        tag.extra["custom_emoji_id"] = attrs.get("emoji-id", "")
    else:
        raise MarkupError(f'Unsupported start tag "{name}" at byte offset {offset}')
    return tag


def _html_close(tag: _OpenTag, builder: _TextBuilder, stack: list[_OpenTag]) -> None:
    css = str(tag.extra.pop("class", ""))
    if tag.etype == "code" and stack and stack[-1].etype == "pre" and css.startswith("language-"):
        stack[-1].extra["language"] = css.removeprefix("language-")
        return
    builder.emit(tag.etype, tag.start, **tag.extra)


def _html_tag(src: str, index: int, builder: _TextBuilder, stack: list[_OpenTag]) -> int:
    offset = _byte_offset(src, index)
    end = src.find(">", index)
    if end < 0:
        raise MarkupError(f"Unclosed start tag at byte offset {offset}")
    inner = src[index + 1 : end]
    if not inner.startswith("/"):
        match = re.match(r"([A-Za-z0-9-]*)(.*)", inner, re.S)
        assert match is not None
        stack.append(_html_open(match[1].lower(), _html_attrs(match[2]), builder, offset))
        return end + 1
    name = inner[1:].strip().lower()
    if not stack:
        raise MarkupError(f"Unexpected end tag at byte offset {offset}")
    top = stack.pop()
    if name != top.name:
        raise MarkupError(
            f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", '
            f'found "</{name}>"'
        )
    _html_close(top, builder, stack)
    return end + 1


def parse_html(src: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML parse mode: plain text plus entities, or MarkupError like Telegram."""
    builder = _TextBuilder()
    stack: list[_OpenTag] = []
    index = 0
    while index < len(src):
        char = src[index]
        if char == "<":
            index = _html_tag(src, index, builder, stack)
        elif char == "&":
            index = _html_charref(src, index, builder)
        else:
            stop = min(
                (p for p in (src.find("<", index), src.find("&", index)) if p >= 0),
                default=len(src),
            )
            builder.add(src[index:stop])
            index = stop
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return builder.result()


def parse_text(text: str, parse_mode: str) -> tuple[str, list[JSONDict]]:
    """Render ``text`` in ``parse_mode`` as Telegram does; raises ApiError(400) on bad markup.

    Only HTML is read: the bot sends nothing else, so any other mode is a mistake to report.
    """
    if parse_mode.lower() != "html":
        raise ApiError(
            400,
            f"Bad Request: unsupported parse_mode {parse_mode!r}: "
            "the fake Bot API reads HTML only, as the bot sends",
        )
    try:
        return parse_html(text)
    except MarkupError as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc


_AUTO_ENTITY_RE = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{4,32}(?!\w))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+)"
)


def auto_entities(text: str) -> list[JSONDict]:
    """Entities Telegram detects by itself in user text: commands, mentions, URLs."""
    entities = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup or "url"
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match[0]),
            }
        )
    return entities
