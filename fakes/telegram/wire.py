"""The Bot API's wire format as the fake sees it: requests in, recorded calls, error answers.

PTB 22 sends ``POST <base_url><token>/<method>``; the body is
``application/x-www-form-urlencoded`` when nothing is uploaded and ``multipart/form-data`` when
something is. Every value is a string: ``str`` values as they are, everything else JSON-dumped
(``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``). Files are multipart parts named
after the parameter (``photo``, ``document``) or referenced as ``attach://<name>``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

JSONDict = dict[str, Any]
CallPredicate = Callable[["ApiCall"], bool]

_dumps = functools.partial(json.dumps, ensure_ascii=False)

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

    @property
    def outgoing(self) -> bool:
        """A successful call that produced a message a user sees (send*/edit*, not actions)."""
        name = self.method
        produces = name.startswith(("send", "edit")) or name in ("copyMessage", "forwardMessage")
        return self.ok and produces and name != "sendChatAction"

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


@dataclasses.dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclasses.dataclass
class Request:
    """A Bot API request, decoded: the method, its parameters, its files, and the bot asking."""

    method: str
    params: JSONDict
    uploads: dict[str, Upload]
    token: str
    bot: JSONDict


def decode_param(name: str, value: str) -> Any:
    """Undo PTB's encoding: non-``str`` values arrive JSON-dumped, ``str`` values verbatim."""
    if name in RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> tuple[JSONDict, dict[str, Upload]]:
    """The parameters and uploaded files of a Bot API request (query, form or JSON body)."""
    params: JSONDict = {k: decode_param(k, v) for k, v in request.query.items()}
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        body = await request.text()
        params.update(json.loads(body) if body.strip() else {})
        return params, uploads
    if request.method != "POST" or not request.body_exists:
        return params, uploads
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            uploads[name] = Upload(value.filename, value.content_type, value.file.read())
        else:
            params[name] = decode_param(name, str(value))
    return params, uploads


def as_int(value: Any) -> int | None:
    """An integer parameter, whether it arrived as a number or as its digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def update_type(update: Mapping[str, Any]) -> str:
    """``message``, ``callback_query`` …: the kind of an update."""
    return next((key for key in update if key != "update_id"), "")


def json_response(body: Any, *, status: int = 200) -> web.Response:
    """A JSON answer, Chinese left readable."""
    return web.json_response(body, status=status, dumps=_dumps)
