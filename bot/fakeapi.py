"""A loopback fake of the Telegram Bot API, for tests, ``make demo`` and benchmarks.

The real python-telegram-bot ``Application`` talks to it over real HTTP, so nothing ever
contacts Telegram. It answers the Bot API methods the bot uses the way Telegram does (the
``{"ok": true, "result": ...}`` envelope, realistic ``Message`` objects, the usual 400/403/409/429
errors), records every call, and lets a test or another process inject updates::

    async with FakeBotApi() as api:
        app = (
            ApplicationBuilder()
            .token("123:ABC")
            .base_url(api.base_url)
            .base_file_url(api.file_url)
            .build()
        )
        ...
        api.inject_message(42, "/start abc")
        call = await api.wait_for_message(42)

Wire format, as PTB 22 sends it: ``POST <base_url><token>/<method>``; the body is
``application/x-www-form-urlencoded`` when nothing is uploaded and ``multipart/form-data`` when
something is. Every value is a string: ``str`` values as they are, everything else JSON-dumped
(``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``). Files are multipart parts named after
the parameter (``photo``, ``document``) or referenced as ``attach://<name>``. ``getFile`` answers a
relative ``file_path`` that PTB prefixes with ``<base_file_url><token>/``.

Run standalone with ``python -m bot.fakeapi --port 8081``; it prints its ``base_url`` on the first
line of stdout. Other processes drive it through the ``/control/...`` endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import copy
import dataclasses
import functools
import itertools
import json
import logging
import mimetypes
import re
import signal
import struct
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Self

from aiohttp import web

logger = logging.getLogger("bot.fakeapi")  # also under ``python -m``

JSONDict = dict[str, Any]
CallPredicate = Callable[["ApiCall"], bool]

_dumps = functools.partial(json.dumps, ensure_ascii=False)

DEFAULT_BOT_ID = 1_000_000_001
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "purchased_paid_media",
        "removed_chat_boost",
        "chat_boost",
    }
)
# Parameters that are plain strings on the wire and must never be JSON-decoded ("123" stays text).
RAW_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "url",
        "action",
        "secret_token",
        "ip_address",
        "title",
        "description",
        "short_description",
        "name",
        "language_code",
        "query",
        "emoji",
        "question",
        "first_name",
        "last_name",
        "phone_number",
        "business_connection_id",
        "message_effect_id",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "animation",
        "sticker",
        "thumbnail",
    }
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
DEFAULT_ERRORS = {
    400: "Bad Request: scripted failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: scripted failure",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# --------------------------------------------------------------------------------------------
# Records and errors
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ApiCall:
    """One Bot API request as the server saw it, with what it answered."""

    method: str
    params: JSONDict
    files: dict[str, bytes]
    time: float
    filenames: dict[str, str] = dataclasses.field(default_factory=dict)
    token: str = ""
    ok: bool = True
    result: Any = None
    status: int = 200
    error: str | None = None

    @property
    def chat_id(self) -> int | str | None:
        """The chat the call addressed (from the answered message, else the parameters)."""
        if isinstance(self.result, dict) and isinstance(self.result.get("chat"), dict):
            return self.result["chat"].get("id")
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    @property
    def text(self) -> str | None:
        """Rendered text (or caption) of the message this call produced, if any."""
        if isinstance(self.result, dict):
            return self.result.get("text", self.result.get("caption"))
        return None

    def to_json(self, *, with_files: bool = False) -> JSONDict:
        """JSON-friendly view for ``GET /control/calls``."""
        files: dict[str, Any] = {
            name: base64.b64encode(data).decode() if with_files else len(data)
            for name, data in self.files.items()
        }
        return {
            "method": self.method,
            "params": self.params,
            "files": files,
            "filenames": self.filenames,
            "time": self.time,
            "ok": self.ok,
            "status": self.status,
            "result": self.result,
            "error": self.error,
        }


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, plus description and parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def envelope(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class MarkupError(ValueError):
    """Text could not be parsed in the requested parse_mode."""


@dataclasses.dataclass
class _Upload:
    filename: str
    content_type: str
    data: bytes


@dataclasses.dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str
    mime_type: str

    def as_file(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclasses.dataclass
class _Failure:
    status: int
    description: str
    retry_after: int
    remaining: int

    def error(self) -> ApiError:
        params = {"retry_after": self.retry_after} if self.status == 429 else None
        return ApiError(self.status, self.description, params)


@dataclasses.dataclass
class _Request:
    method: str
    params: JSONDict
    uploads: dict[str, _Upload]
    token: str
    bot: JSONDict


class _Signal:
    """Wake-all notification: capture ``current()`` before checking state, then ``wait``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(timeout, 0.0))


# --------------------------------------------------------------------------------------------
# Text helpers: UTF-16 offsets, parse modes, automatic entities
# --------------------------------------------------------------------------------------------


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
    byte_offset: int
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
    tag = _OpenTag(name, _HTML_SIMPLE.get(name, ""), builder.pos, offset)
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


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_MDV2_TOGGLES = (
    ("||", "spoiler"),
    ("__", "underline"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
)


def _find_unescaped(src: str, token: str, start: int) -> int:
    index = start
    while index < len(src):
        if src[index] == "\\":
            index += 2
        elif src.startswith(token, index):
            return index
        else:
            index += 1
    return -1


def _find_plain(src: str, token: str, start: int) -> int:
    return src.find(token, start)


def _unescape_md(text: str) -> str:
    return re.sub(r"\\([\x01-\x7e])", r"\1", text)


def _split_language(body: str) -> tuple[str, str | None]:
    first, newline, rest = body.partition("\n")
    if newline and (not first or re.fullmatch(r"[\w+#.-]+", first)):
        return rest, first or None
    return body, None


def _md_code(src: str, index: int, builder: _TextBuilder, *, escapes: bool) -> int:
    fence = "```" if src.startswith("```", index) else "`"
    finder = _find_unescaped if escapes else _find_plain
    end = finder(src, fence, index + len(fence))
    if end < 0:
        kind = "Pre" if fence == "```" else "Code"
        offset = _byte_offset(src, index)
        raise MarkupError(
            f"Can't find end of {kind} entity at byte offset {offset}"
            if escapes
            else f"Can't find end of the entity starting at byte offset {offset}"
        )
    body = src[index + len(fence) : end]
    language = None
    if fence == "```":
        body, language = _split_language(body)
    start = builder.pos
    builder.add(_unescape_md(body) if escapes else body)
    builder.emit("pre" if fence == "```" else "code", start, language=language)
    return end + len(fence)


def _mdv2_toggle(src: str, index: int, builder: _TextBuilder, stack: list[_OpenTag]) -> int:
    found = next((t for t in _MDV2_TOGGLES if src.startswith(t[0], index)), None)
    if found is None:
        raise MarkupError(
            f"Character '{src[index]}' is reserved and must be escaped with the preceding '\\'"
        )
    marker, etype = found
    for pos in range(len(stack) - 1, -1, -1):
        if stack[pos].name == marker:
            tag = stack.pop(pos)
            builder.emit(tag.etype, tag.start)
            return index + len(marker)
    stack.append(_OpenTag(marker, etype, builder.pos, _byte_offset(src, index)))
    return index + len(marker)


def _mdv2_link_end(src: str, index: int, builder: _TextBuilder, stack: list[_OpenTag]) -> int:
    opener = next((p for p in range(len(stack) - 1, -1, -1) if stack[p].name in ("[", "![")), None)
    if opener is None or not src.startswith("(", index + 1):
        raise MarkupError("Character ']' is reserved and must be escaped with the preceding '\\'")
    close = _find_unescaped(src, ")", index + 2)
    if close < 0:
        raise MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(src, index)}")
    url = _unescape_md(src[index + 2 : close])
    tag = stack.pop(opener)
    if tag.etype == "custom_emoji":
        builder.emit("custom_emoji", tag.start, custom_emoji_id=url.rpartition("id=")[2])
    else:
        builder.emit("text_link", tag.start, url=url)
    return close + 1


def _mdv2_step(src: str, index: int, builder: _TextBuilder, stack: list[_OpenTag]) -> int:
    char = src[index]
    if char == "\\":
        if index + 1 < len(src) and 0 < ord(src[index + 1]) < 127:
            builder.add(src[index + 1])
            return index + 2
        raise MarkupError("Character '\\' is reserved and must be escaped with the preceding '\\'")
    if char == "`":
        return _md_code(src, index, builder, escapes=True)
    if char in "*_~|":
        return _mdv2_toggle(src, index, builder, stack)
    if char == "[" or src.startswith("![", index):
        name = "[" if char == "[" else "!["
        etype = "text_link" if char == "[" else "custom_emoji"
        stack.append(_OpenTag(name, etype, builder.pos, _byte_offset(src, index)))
        return index + len(name)
    if char == "]":
        return _mdv2_link_end(src, index, builder, stack)
    if char in _MDV2_RESERVED:
        raise MarkupError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )
    builder.add(char)
    return index + 1


def parse_markdown_v2(src: str) -> tuple[str, list[JSONDict]]:
    """Telegram's MarkdownV2 parse mode, including its reserved-character errors."""
    builder = _TextBuilder()
    stack: list[_OpenTag] = []
    quote_start: int | None = None
    index = 0
    while index < len(src):
        at_line_start = index == 0 or src[index - 1] == "\n"
        if at_line_start and src[index] == ">":
            quote_start = builder.pos if quote_start is None else quote_start
            index += 1
        elif src[index] == "\n" and quote_start is not None and not src.startswith(">", index + 1):
            builder.emit("blockquote", quote_start)
            quote_start = None
            builder.add("\n")
            index += 1
        else:
            index = _mdv2_step(src, index, builder, stack)
    if quote_start is not None:
        builder.emit("blockquote", quote_start)
    if stack:
        tag = stack[0]
        name = _MDV2_NAMES.get(tag.etype, tag.etype)
        raise MarkupError(f"Can't find end of {name} entity at byte offset {tag.byte_offset}")
    return builder.result()


def _md_entity(src: str, index: int, builder: _TextBuilder) -> int:
    char = src[index]
    offset = _byte_offset(src, index)
    missing = MarkupError(f"Can't find end of the entity starting at byte offset {offset}")
    if char == "`":
        return _md_code(src, index, builder, escapes=False)
    if char in "*_":
        end = src.find(char, index + 1)
        if end < 0:
            raise missing
        start = builder.pos
        builder.add(src[index + 1 : end])
        builder.emit("bold" if char == "*" else "italic", start)
        return end + 1
    close = src.find("]", index + 1)
    url_end = src.find(")", close + 2) if close >= 0 else -1
    if close < 0 or not src.startswith("(", close + 1) or url_end < 0:
        raise missing
    start = builder.pos
    builder.add(src[index + 1 : close])
    builder.emit("text_link", start, url=src[close + 2 : url_end])
    return url_end + 1


def parse_markdown(src: str) -> tuple[str, list[JSONDict]]:
    """Telegram's legacy Markdown parse mode."""
    builder = _TextBuilder()
    index = 0
    while index < len(src):
        char = src[index]
        if char == "\\" and index + 1 < len(src) and src[index + 1] in "_*`[":
            builder.add(src[index + 1])
            index += 2
        elif char in "*_`[":
            index = _md_entity(src, index, builder)
        else:
            builder.add(char)
            index += 1
    return builder.result()


def parse_text(text: str, parse_mode: str) -> tuple[str, list[JSONDict]]:
    """Render ``text`` in ``parse_mode`` as Telegram does; raises ApiError(400) on bad markup."""
    parsers: dict[str, Callable[[str], tuple[str, list[JSONDict]]]] = {
        "html": parse_html,
        "markdownv2": parse_markdown_v2,
        "markdown": parse_markdown,
    }
    parser = parsers.get(parse_mode.lower())
    if parser is None:
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    try:
        return parser(text)
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


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, GIF or JPEG; (0, 0) for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return 0, 0


def _jpeg_size(data: bytes) -> tuple[int, int]:
    index = 2
    while index + 9 <= len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + int(length)
    return 0, 0


def _decode_param(name: str, value: str) -> Any:
    """Undo PTB's encoding: non-``str`` values arrive JSON-dumped, ``str`` values verbatim."""
    if name in RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


async def _control_body(request: web.Request) -> JSONDict:
    body: JSONDict = dict(request.query)
    if request.body_exists:
        payload = await request.json()
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        body.update(payload)
    return body


def _json_response(body: Any, *, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _b64(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else b""


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotApi:
    """Loopback Telegram Bot API: start it, point PTB at ``base_url``/``file_url``, drive it."""

    def __init__(
        self,
        *,
        bot_username: str = "kaohe_bot",
        bot_first_name: str = "考核助手",
        strict_chats: bool = False,
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_chats = strict_chats
        self.calls: list[ApiCall] = []
        self.webhook: JSONDict | None = None
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._closing = False
        self._call_signal = _Signal()
        self._update_signal = _Signal()
        self._poll_signal = _Signal()
        self._methods = self._method_table()
        self._init_state()

    def _init_state(self) -> None:
        self._pending: list[JSONDict] = []
        self._history: dict[int, JSONDict] = {}
        self._redelivering: set[int] = set()
        self._next_update_id = 1
        self._poll_generation = 0
        self._parked_polls = 0
        self._allowed: frozenset[str] = DEFAULT_ALLOWED
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._message_ids: dict[int, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._paths: dict[str, _StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self._open_queries: set[str] = set()
        self._failures: dict[str, list[_Failure]] = {}
        self._blocked: set[int] = set()
        self._commands: dict[str, list[JSONDict]] = {}

    # ----- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError("FakeBotApi is already running")
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        self._port = int(runner.addresses[0][1])
        logger.info("fake Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        """Wake pending long polls (they answer an empty list) and shut the server down."""
        if self._runner is None:
            return
        self._closing = True
        self._update_signal.fire()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        logger.info("fake Bot API stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        if self._runner is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``; PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``; PTB appends the token."""
        return f"{self.url}/file/bot"

    @property
    def control_url(self) -> str:
        return f"{self.url}/control"

    # ----- inspection helpers ---------------------------------------------------------------

    @staticmethod
    def _is_outgoing(call: ApiCall) -> bool:
        name = call.method
        produces = name.startswith(("send", "edit")) or name in ("copyMessage", "forwardMessage")
        return call.ok and produces and name != "sendChatAction"

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[ApiCall]:
        """Successful message-producing calls (send*/edit*), optionally filtered."""
        return [
            call
            for call in self.calls
            if self._is_outgoing(call)
            and (chat_id is None or call.chat_id == chat_id)
            and (method is None or call.method.lower() == method.lower())
        ]

    def messages_to(self, chat_id: int) -> list[str]:
        """Texts (or captions) of the new messages the bot sent to ``chat_id``, in order.

        Entities are rendered away (HTML tags stripped), as a user would read them; edits are
        not included (see ``message()`` for a message's current state).
        """
        return [
            call.text or "" for call in self.sent(chat_id) if not call.method.startswith("edit")
        ]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Current state (after edits) of a stored message, or None if unknown/deleted."""
        found = self._messages.get((chat_id, message_id))
        return copy.deepcopy(found) if found else None

    def last_message(self, chat_id: int, *, with_keyboard: bool = False) -> JSONDict | None:
        """Latest existing bot message in the chat (optionally: one with an inline keyboard)."""
        for (cid, _mid), msg in sorted(self._messages.items(), reverse=True):
            if cid != chat_id or not msg.get("from", {}).get("is_bot"):
                continue
            if not with_keyboard or msg.get("reply_markup"):
                return copy.deepcopy(msg)
        return None

    def file_bytes(self, file_id: str) -> bytes:
        """Bytes stored for a file_id (uploaded by the bot or injected by a user)."""
        return self._files[file_id].data

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is parked waiting for updates."""
        return self._parked_polls > 0

    async def wait_until_polling(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates long poll is parked (the bot is idle and listening)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._poll_signal.current()
            if self.polling:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"no getUpdates long poll within {timeout}s")
            await _Signal.wait(event, deadline - loop.time())

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._pending)

    async def wait_for(
        self, predicate: CallPredicate | str, timeout: float = 5.0, *, since: int = 0
    ) -> ApiCall:
        """First recorded call (from index ``since``) matching; waits up to ``timeout`` seconds.

        ``predicate`` may be a method name. Pass ``since=len(api.calls)`` to ignore older calls.
        """
        check = self._as_predicate(predicate)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        while True:
            event = self._call_signal.current()
            for call in self.calls[index:]:
                if check(call):
                    return call
            index = max(index, len(self.calls))
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"{c.method}({c.chat_id})" for c in self.calls[-8:]]
                raise TimeoutError(f"no matching Bot API call within {timeout}s; last: {recent}")
            await _Signal.wait(event, remaining)

    async def wait_for_message(
        self,
        chat_id: int | None = None,
        *,
        timeout: float = 5.0,
        since: int = 0,
        method: str | None = None,
    ) -> ApiCall:
        """Wait for a successful outgoing message call (to ``chat_id`` if given)."""

        def matches(call: ApiCall) -> bool:
            return (
                self._is_outgoing(call)
                and (chat_id is None or call.chat_id == chat_id)
                and (method is None or call.method.lower() == method.lower())
            )

        return await self.wait_for(matches, timeout, since=since)

    @staticmethod
    def _as_predicate(predicate: CallPredicate | str) -> CallPredicate:
        if isinstance(predicate, str):
            wanted = predicate.lower()
            return lambda call: call.method.lower() == wanted
        return predicate

    # ----- scripting ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` answer an error instead."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else DEFAULT_ERRORS.get(status, f"Error {status}")
            )
        failure = _Failure(status, description, retry_after, times)
        self._failures.setdefault(method.lower(), []).append(failure)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends to ``chat_id`` now answer 403."""
        self._blocked.add(chat_id)

    def reset(self) -> None:
        """Forget calls, pending updates, scripted failures, blocks and the webhook.

        Update and message ids keep counting up, so a polling bot is not confused.
        """
        self.calls.clear()
        self._pending.clear()
        self._redelivering.clear()
        self._failures.clear()
        self._blocked.clear()
        self.webhook = None

    # ----- injecting updates ----------------------------------------------------------------

    def inject_update(self, update: Mapping[str, Any]) -> JSONDict:
        """Queue an update for getUpdates; assigns ``update_id`` if missing. Returns it."""
        stored = copy.deepcopy(dict(update))
        update_id = _as_int(stored.get("update_id"))
        if update_id is None:
            update_id = self._next_update_id
        stored["update_id"] = update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._history[update_id] = stored
        self._enqueue(stored)
        logger.debug("injected update %s (%s)", update_id, _update_type(stored))
        return copy.deepcopy(stored)

    def _enqueue(self, update: JSONDict) -> None:
        update_id = int(update["update_id"])
        pending = self._pending
        if not pending or int(pending[-1]["update_id"]) < update_id:
            pending.append(update)
        else:
            pos = bisect.bisect_left(pending, update_id, key=lambda u: int(u["update_id"]))
            if pos == len(pending) or int(pending[pos]["update_id"]) != update_id:
                pending.insert(pos, update)
        self._update_signal.fire()

    def redeliver(self, update_id: int) -> JSONDict:
        """Put an (already confirmed) update back, as Telegram does after a crash."""
        update = self._history[update_id]
        self._redelivering.add(update_id)
        self._enqueue(update)
        return copy.deepcopy(update)

    def inject_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        photo: bytes | None = None,
        caption: str | None = None,
        document: tuple[str, bytes] | None = None,
        reply_to: int | None = None,
        chat_title: str | None = None,
    ) -> JSONDict:
        """A user sends a message (text, photo+caption or document) to the bot.

        Commands get ``bot_command`` entities (``/start CODE`` reaches CommandHandler with
        ``context.args == ["CODE"]``); photos/documents become downloadable via getFile.
        """
        user = self._remember_user(user_id, first_name, last_name, username)
        chat_id = user_id if chat_id is None else chat_id
        if chat_title is not None:
            self._chat(chat_id)["title"] = chat_title
        content = self._user_content(text, photo, caption, document)
        if reply_to is not None and (chat_id, reply_to) in self._messages:
            content["reply_to_message"] = copy.deepcopy(self._messages[(chat_id, reply_to)])
        message = self._new_message(chat_id, user, content)
        return self.inject_update({"message": copy.deepcopy(message)})

    def _user_content(
        self,
        text: str | None,
        photo: bytes | None,
        caption: str | None,
        document: tuple[str, bytes] | None,
    ) -> JSONDict:
        content: JSONDict = {}
        if photo is not None:
            stored = self._store_file("photo", photo, "photo.jpg", "image/jpeg")
            content["photo"] = [self._photo_size(stored)]
        if document is not None:
            name, data = document
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            content["document"] = self._document(self._store_file("document", data, name, mime))
        if photo is not None or document is not None:
            caption = caption if caption is not None else text
            if caption:
                content["caption"] = caption
                content["caption_entities"] = auto_entities(caption)
        elif text is not None:
            content["text"] = text
            content["entities"] = auto_entities(text)
        else:
            raise ValueError("inject_message needs text, photo or document")
        return {k: v for k, v in content.items() if v != []}

    def inject_callback(
        self,
        user_id: int,
        message: object,
        data: str | None = None,
        *,
        button: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """A user presses an inline button under a bot message.

        ``message``: the sent message (dict as returned/recorded, an ApiCall, a PTB Message or
        a ``(chat_id, message_id)`` tuple); its current stored state is used. Give either the
        callback ``data`` or the ``button`` label (its callback_data is looked up).
        """
        chat_id, message_id = self._message_ref(message)
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        if button is not None:
            data = self._button_data(stored, button)
        user = self._remember_user(user_id, first_name, None, username)
        query_id = str(4_000_000_000_000_000 + next(self._query_seq))
        self._open_queries.add(query_id)
        query: JSONDict = {
            "id": query_id,
            "from": user,
            "message": copy.deepcopy(stored),
            "chat_instance": str((chat_id * 2_654_435_761) % (2**63)),
        }
        if data is not None:
            query["data"] = data
        return self.inject_update({"callback_query": query})

    @staticmethod
    def _message_ref(message: object) -> tuple[int, int]:
        if isinstance(message, ApiCall):
            message = message.result
        if isinstance(message, tuple) and len(message) == 2:
            return int(message[0]), int(message[1])
        if isinstance(message, Mapping):
            return int(message["chat"]["id"]), int(message["message_id"])
        chat_id = getattr(message, "chat_id", None)
        message_id = getattr(message, "message_id", None)
        if isinstance(chat_id, int) and isinstance(message_id, int):
            return chat_id, message_id
        raise TypeError(f"cannot find chat_id/message_id in {message!r}")

    @staticmethod
    def _button_data(message: Mapping[str, Any], label: str) -> str:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in rows:
            for btn in row:
                if btn.get("text") == label and "callback_data" in btn:
                    return str(btn["callback_data"])
        raise LookupError(f"no callback button labelled {label!r} in message")

    # ----- users, chats, messages, files ----------------------------------------------------

    def _remember_user(
        self,
        user_id: int,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
    ) -> JSONDict:
        user = self._users.setdefault(
            user_id,
            {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User {user_id}",
                "language_code": "zh-hans",
            },
        )
        for key, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
        ):
            if value is not None:
                user[key] = value
        if user_id > 0:
            private = self._chat(user_id)
            for key in ("first_name", "last_name", "username"):
                if key in user:
                    private[key] = user[key]
        return copy.deepcopy(user)

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id not in self._chats:
            if chat_id > 0:
                chat: JSONDict = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            else:
                kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
                chat = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
            self._chats[chat_id] = chat
        return self._chats[chat_id]

    def _new_message(self, chat_id: int, sender: JSONDict, content: JSONDict) -> JSONDict:
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        message: JSONDict = {
            "message_id": message_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(self._chat(chat_id)),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _store_file(self, kind: str, data: bytes, filename: str, mime: str) -> _StoredFile:
        number = next(self._file_seq)
        prefix = {"photo": "AgAC", "document": "BQAC"}.get(kind, "CQAC")
        ext = ".jpg" if kind == "photo" else (mimetypes.guess_extension(mime) or "")
        if "." in filename and kind != "photo":
            ext = "." + filename.rsplit(".", 1)[1]
        folder = "photos" if kind == "photo" else "documents"
        stored = _StoredFile(
            file_id=f"{prefix}AgIAAxkBAAI{number:08d}",
            file_unique_id=f"AQAD{number:08d}",
            file_path=f"{folder}/file_{number}{ext}",
            data=data,
            file_name=filename,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    @staticmethod
    def _photo_size(stored: _StoredFile) -> JSONDict:
        width, height = image_size(stored.data)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }

    @staticmethod
    def _document(stored: _StoredFile) -> JSONDict:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": len(stored.data),
        }

    def _bot_user(self, token: str) -> JSONDict:
        bot_id = _as_int(token.partition(":")[0]) or DEFAULT_BOT_ID
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----- HTTP plumbing --------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        control: dict[str, Callable[[JSONDict], Awaitable[Any]]] = {
            "update": self._control_update,
            "message": self._control_message,
            "callback": self._control_callback,
            "redeliver": self._control_redeliver,
            "fail": self._control_fail,
            "reset": self._control_reset,
            "wait": self._control_wait,
        }
        for name, func in control.items():
            app.router.add_post(f"/control/{name}", self._control_handler(func))
        app.router.add_get("/control/calls", self._control_calls)
        app.router.add_get("/control/wait", self._control_handler(self._control_wait))

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        entry = self._methods.get(raw_method.lower())
        canonical = entry[0] if entry else raw_method
        params, uploads = await self._read_params(request)
        call = ApiCall(
            method=canonical,
            params=params,
            files={name: up.data for name, up in uploads.items()},
            filenames={name: up.filename for name, up in uploads.items()},
            time=time.time(),
            token=token,
        )
        req = _Request(canonical, params, uploads, token, self._bot_user(token))
        try:
            self._scripted_failure(canonical)
            result = await entry[1](req) if entry else self._unknown_method(req)
        except ApiError as exc:
            return self._record_error(call, exc)
        call.result = copy.deepcopy(result)
        self._record(call)
        return _json_response({"ok": True, "result": result})

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._call_signal.fire()

    def _record_error(self, call: ApiCall, exc: ApiError) -> web.Response:
        call.ok, call.status, call.error = False, exc.status, exc.description
        self._record(call)
        logger.debug("%s -> %s %s", call.method, exc.status, exc.description)
        return _json_response(exc.envelope(), status=exc.status)

    def _scripted_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        raise failure.error()

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSONDict, dict[str, _Upload]]:
        params: JSONDict = {k: _decode_param(k, v) for k, v in request.query.items()}
        uploads: dict[str, _Upload] = {}
        if request.content_type == "application/json":
            body = await request.text()
            params.update(json.loads(body) if body.strip() else {})
            return params, uploads
        if request.method != "POST" or not request.body_exists:
            return params, uploads
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                uploads[name] = _Upload(value.filename, value.content_type, data)
            else:
                params[name] = _decode_param(name, str(value))
        return params, uploads

    async def _handle_download(self, request: web.Request) -> web.Response:
        stored = self._paths.get(request.match_info["path"])
        if stored is None:
            return _json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ----- Bot API methods ------------------------------------------------------------------

    def _method_table(self) -> dict[str, tuple[str, Callable[[_Request], Awaitable[Any]]]]:
        table: dict[str, Callable[[_Request], Awaitable[Any]]] = {
            "getMe": self._m_get_me,
            "logOut": self._m_true,
            "close": self._m_true,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "sendMessage": self._m_send_message,
            "sendPhoto": self._m_send_photo,
            "sendDocument": self._m_send_document,
            "sendChatAction": self._m_send_chat_action,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getFile": self._m_get_file,
        }
        return {name.lower(): (name, func) for name, func in table.items()}

    @staticmethod
    def _unknown_method(req: _Request) -> bool:
        logger.info("fake Bot API: unhandled method %s answered True", req.method)
        return True

    async def _m_true(self, req: _Request) -> bool:
        return True

    async def _m_get_me(self, req: _Request) -> JSONDict:
        return {
            **req.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # getUpdates ------------------------------------------------------------------------------

    async def _m_get_updates(self, req: _Request) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        params = req.params
        limit = min(max(_as_int(params.get("limit")) or 100, 1), 100)
        timeout = float(params.get("timeout") or 0)
        self._set_allowed(params.get("allowed_updates"))
        self._confirm(_as_int(params.get("offset")) or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._update_signal.fire()  # an older, still waiting getUpdates now answers 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._update_signal.current()
            batch = self._take(limit)
            if batch or self._closing or loop.time() >= deadline:
                return batch
            await self._park(event, deadline - loop.time())
            if generation != self._poll_generation:
                raise ApiError(409, GET_UPDATES_CONFLICT)

    async def _park(self, event: asyncio.Event, timeout: float) -> None:
        self._parked_polls += 1
        self._poll_signal.fire()
        try:
            await _Signal.wait(event, timeout)
        finally:
            self._parked_polls -= 1

    def _set_allowed(self, allowed: Any) -> None:
        if isinstance(allowed, list):
            self._allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED

    def _confirm(self, offset: int) -> None:
        """Forget updates below ``offset`` (a negative offset keeps only the last -offset)."""
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [
                u
                for u in self._pending
                if u["update_id"] >= offset or u["update_id"] in self._redelivering
            ]

    def _take(self, limit: int) -> list[JSONDict]:
        self._pending = [u for u in self._pending if _update_type(u) in self._allowed]
        batch = self._pending[:limit]
        for update in batch:
            self._redelivering.discard(update["update_id"])
        return copy.deepcopy(batch)

    async def _m_set_webhook(self, req: _Request) -> bool:
        url = req.params.get("url")
        if not url:
            return await self._m_delete_webhook(req)
        self.webhook = dict(req.params)
        self._drop_pending(req)
        return True

    async def _m_delete_webhook(self, req: _Request) -> bool:
        self.webhook = None
        self._drop_pending(req)
        return True

    def _drop_pending(self, req: _Request) -> None:
        if req.params.get("drop_pending_updates") in (True, "true", "True", 1):
            self._pending.clear()
            self._redelivering.clear()

    async def _m_get_webhook_info(self, req: _Request) -> JSONDict:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    # sending ---------------------------------------------------------------------------------

    def _target_chat(self, params: JSONDict) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = _as_int(raw)
        if chat_id is None or (self.strict_chats and chat_id not in self._chats):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _sendable_chat(self, params: JSONDict) -> int:
        chat_id = self._target_chat(params)
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    @staticmethod
    def _render(
        params: JSONDict, key: str, entities_key: str, limit: int
    ) -> tuple[str, list[JSONDict]]:
        raw = params.get(key)
        text = "" if raw is None else str(raw)
        mode = params.get("parse_mode")
        if mode:
            text, entities = parse_text(text, str(mode))
        else:
            given = params.get(entities_key)
            entities = given if isinstance(given, list) else []
        if utf16_len(text) > limit:
            kind = "message caption" if key == "caption" else "message"
            raise ApiError(400, f"Bad Request: {kind} is too long")
        return text, entities

    def _text_content(self, params: JSONDict) -> JSONDict:
        text, entities = self._render(params, "text", "entities", MAX_TEXT)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        return content

    def _caption_content(self, params: JSONDict) -> JSONDict:
        caption, entities = self._render(params, "caption", "caption_entities", MAX_CAPTION)
        content: JSONDict = {}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return content

    @staticmethod
    def _inline_markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if not rows:
            return None
        for row in rows:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
        return markup

    def _reply_target(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            legacy = _as_int(params.get("reply_to_message_id"))
            reply = {"message_id": legacy} if legacy else None
        if not reply:
            return None
        target = self._messages.get(
            (_as_int(reply.get("chat_id")) or chat_id, _as_int(reply.get("message_id")) or 0)
        )
        if target is None and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return copy.deepcopy(target) if target else None

    def _post_bot_message(self, req: _Request, chat_id: int, content: JSONDict) -> JSONDict:
        markup = self._inline_markup(req.params)
        reply = self._reply_target(chat_id, req.params)
        if markup:
            content["reply_markup"] = markup
        if reply:
            content["reply_to_message"] = reply
        message = self._new_message(chat_id, req.bot, content)
        logger.debug("bot -> %s #%s", chat_id, message["message_id"])
        return copy.deepcopy(message)

    async def _m_send_message(self, req: _Request) -> JSONDict:
        chat_id = self._sendable_chat(req.params)
        return self._post_bot_message(req, chat_id, self._text_content(req.params))

    def _input_file(self, req: _Request, field: str, default_mime: str) -> _StoredFile:
        value = req.params.get(field)
        upload = req.uploads.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = req.uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            mime = upload.content_type or default_mime
            return self._store_file(field, upload.data, upload.filename or field, mime)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            logger.warning("fake Bot API cannot fetch %s; storing an empty file", value)
            name = value.rstrip("/").rsplit("/", 1)[-1] or field
            return self._store_file(field, b"", name, default_mime)
        if value is None:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _m_send_photo(self, req: _Request) -> JSONDict:
        chat_id = self._sendable_chat(req.params)
        caption = self._caption_content(req.params)
        stored = self._input_file(req, "photo", "image/jpeg")
        content = {"photo": [self._photo_size(stored)], **caption}
        return self._post_bot_message(req, chat_id, content)

    async def _m_send_document(self, req: _Request) -> JSONDict:
        chat_id = self._sendable_chat(req.params)
        caption = self._caption_content(req.params)
        stored = self._input_file(req, "document", "application/octet-stream")
        content = {"document": self._document(stored), **caption}
        return self._post_bot_message(req, chat_id, content)

    async def _m_send_chat_action(self, req: _Request) -> bool:
        self._sendable_chat(req.params)
        if not req.params.get("action"):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    # editing ---------------------------------------------------------------------------------

    def _editable(self, req: _Request, verb: str = "edit") -> tuple[int, int, JSONDict] | None:
        """The stored bot message addressed by chat_id+message_id (None for inline messages)."""
        if req.params.get("inline_message_id"):
            return None
        chat_id = self._target_chat(req.params)
        message_id = _as_int(req.params.get("message_id"))
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        return chat_id, message_id, message

    def _apply_edit(
        self, req: _Request, chat_id: int, message_id: int, changes: JSONDict
    ) -> JSONDict:
        old = self._messages[(chat_id, message_id)]
        if old.get("from", {}).get("id") != req.bot["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        new = {k: v for k, v in old.items() if k not in ("edit_date", "reply_markup")}
        new.update({k: v for k, v in changes.items() if v is not None})
        for key in [k for k, v in changes.items() if v is None]:
            new.pop(key, None)
        markup = self._inline_markup(req.params)
        if markup:
            new["reply_markup"] = markup
        if new == {k: v for k, v in old.items() if k != "edit_date"}:
            raise ApiError(400, NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self._messages[(chat_id, message_id)] = new
        return copy.deepcopy(new)

    async def _m_edit_message_text(self, req: _Request) -> JSONDict | bool:
        content = self._text_content(req.params)
        target = self._editable(req)
        if target is None:
            return True
        chat_id, message_id, message = target
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        content.setdefault("entities", None)
        return self._apply_edit(req, chat_id, message_id, content)

    async def _m_edit_message_caption(self, req: _Request) -> JSONDict | bool:
        content = self._caption_content(req.params)
        target = self._editable(req)
        if target is None:
            return True
        chat_id, message_id, message = target
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        content.setdefault("caption", None)
        content.setdefault("caption_entities", None)
        return self._apply_edit(req, chat_id, message_id, content)

    async def _m_edit_message_reply_markup(self, req: _Request) -> JSONDict | bool:
        target = self._editable(req)
        if target is None:
            return True
        chat_id, message_id, _message = target
        return self._apply_edit(req, chat_id, message_id, {})

    async def _m_delete_message(self, req: _Request) -> bool:
        target = self._editable(req, verb="delete")
        if target is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        chat_id, message_id, _message = target
        del self._messages[(chat_id, message_id)]
        return True

    async def _m_answer_callback_query(self, req: _Request) -> bool:
        query_id = str(req.params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        self._open_queries.discard(query_id)
        return True

    # commands, chats, files ------------------------------------------------------------------

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def _m_set_my_commands(self, req: _Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(req.params)] = commands
        return True

    async def _m_get_my_commands(self, req: _Request) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._commands_key(req.params), []))

    async def _m_delete_my_commands(self, req: _Request) -> bool:
        self._commands.pop(self._commands_key(req.params), None)
        return True

    async def _m_get_chat(self, req: _Request) -> JSONDict:
        chat = copy.deepcopy(self._chat(self._target_chat(req.params)))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _m_get_chat_member(self, req: _Request) -> JSONDict:
        self._target_chat(req.params)
        user_id = _as_int(req.params.get("user_id"))
        if user_id is None:
            raise ApiError(400, "Bad Request: PARTICIPANT_ID_INVALID")
        if user_id == req.bot["id"]:
            return {"status": "member", "user": req.bot}
        user = self._users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        return {"status": "member", "user": copy.deepcopy(user)}

    async def _m_get_file(self, req: _Request) -> JSONDict:
        stored = self._files.get(str(req.params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_file()

    # ----- control endpoints ----------------------------------------------------------------

    @staticmethod
    def _control_handler(
        func: Callable[[JSONDict], Awaitable[Any]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                result = await func(await _control_body(request))
            except TimeoutError as exc:
                return _json_response({"ok": False, "description": str(exc)}, status=408)
            except (KeyError, LookupError, TypeError, ValueError) as exc:
                return _json_response({"ok": False, "description": repr(exc)}, status=400)
            return _json_response({"ok": True, "result": result})

        return handle

    async def _control_update(self, body: JSONDict) -> JSONDict:
        return self.inject_update(body)

    async def _control_message(self, body: JSONDict) -> JSONDict:
        document = body.get("document")
        if isinstance(document, dict):
            document = (str(document.get("filename", "file")), _b64(document.get("data")))
        elif isinstance(document, list):
            document = (str(document[0]), _b64(document[1]))
        return self.inject_message(
            int(body["user_id"]),
            body.get("text"),
            chat_id=_as_int(body.get("chat_id")),
            first_name=body.get("first_name"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            photo=_b64(body["photo"]) if body.get("photo") else None,
            caption=body.get("caption"),
            document=document,
            reply_to=_as_int(body.get("reply_to")),
            chat_title=body.get("chat_title"),
        )

    async def _control_callback(self, body: JSONDict) -> JSONDict:
        user_id = int(body["user_id"])
        chat_id = _as_int(body.get("chat_id")) or user_id
        message_id = _as_int(body.get("message_id"))
        if message_id is None:
            latest = self.last_message(chat_id, with_keyboard=True)
            if latest is None:
                raise LookupError(f"no bot message with a keyboard in chat {chat_id}")
            message_id = int(latest["message_id"])
        return self.inject_callback(
            user_id, (chat_id, message_id), body.get("data"), button=body.get("button")
        )

    async def _control_redeliver(self, body: JSONDict) -> JSONDict:
        return self.redeliver(int(body["update_id"]))

    async def _control_fail(self, body: JSONDict) -> bool:
        self.fail_next(
            str(body["method"]),
            status=int(body.get("status", 429)),
            retry_after=int(body.get("retry_after", 1)),
            times=int(body.get("times", 1)),
            description=body.get("description"),
        )
        return True

    async def _control_reset(self, body: JSONDict) -> bool:
        self.reset()
        return True

    async def _control_wait(self, body: JSONDict) -> JSONDict:
        chat_id = _as_int(body.get("chat_id"))
        call = await self.wait_for_message(
            chat_id,
            timeout=float(body.get("timeout", 5.0)),
            since=_as_int(body.get("since")) or 0,
            method=body.get("method"),
        )
        return {"index": self.calls.index(call), **call.to_json()}

    async def _control_calls(self, request: web.Request) -> web.Response:
        since = _as_int(request.query.get("since")) or 0
        method = request.query.get("method")
        with_files = request.query.get("files") in ("1", "true")
        calls = [
            call.to_json(with_files=with_files)
            for call in self.calls[since:]
            if method is None or call.method.lower() == method.lower()
        ]
        return _json_response({"ok": True, "result": calls, "count": len(self.calls)})


# --------------------------------------------------------------------------------------------
# Standalone server
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _stop_on_sigterm(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def serve(host: str, port: int, bot_username: str) -> None:
    """Run a FakeBotApi until SIGTERM/Ctrl-C; prints base_url as the first stdout line."""
    stop = asyncio.Event()
    async with FakeBotApi(bot_username=bot_username) as api:
        print(api.base_url, flush=True)
        logger.info("file_url %s, control %s", api.file_url, api.control_url)
        with _stop_on_sigterm(stop):
            await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback fake Telegram Bot API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--bot-username", default="kaohe_bot")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.bot_username))


if __name__ == "__main__":
    main()
