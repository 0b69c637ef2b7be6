"""A loopback fake of a 企业微信 (WeCom) group robot's webhook, checking what WeCom checks.

Source: WeCom's "群机器人配置说明" (developer.work.weixin.qq.com/document/path/91770; the newer
"消息推送配置说明", /document/path/99110): ``POST /cgi-bin/webhook/send?key=…`` with msgtype
text (content ≤ 2048 bytes UTF-8), markdown (content ≤ 4096 bytes), image (base64 + md5 of the
raw image, ≤ 2 MB, JPG/PNG) or file (a media_id from ``POST /cgi-bin/webhook/upload_media?key=…
&type=file``, multipart field ``media``, 5 bytes to 20 MB); 20 messages a minute per robot,
errcode 45009 past that; answers ``{"errcode": 0, "errmsg": "ok"}``. The pages name 45009 and
93000 (a wrong key); the other codes the fake answers are its own choice:
40058 too long, 44004 empty, 40008 unknown msgtype, 40009 bad image, 40007 unknown media_id.

``messages`` holds what the group saw (image and file messages with their bytes), ``rejected``
every send refused with its errcode. The 20-a-minute window runs on ``clock``, which tests share
with the robot's injected clock so that pacing is checked without waiting a minute.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fakes.loopback import LoopbackServer, json_response

SEND_PATH = "/cgi-bin/webhook/send"
UPLOAD_PATH = "/cgi-bin/webhook/upload_media"
LIMITS = {"text": 2048, "markdown": 4096}
IMAGE_LIMIT = 2 * 1024 * 1024
FILE_MIN, FILE_MAX = 5, 20 * 1024 * 1024
PER_MINUTE = 20
WINDOW = 60.0
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
ERRMSG = {
    93000: "invalid webhook url",
    45009: "api freq out of limit",
    40058: "content exceed max length",
    44004: "empty content",
    40008: "invalid message type",
    40009: "invalid image",
    40007: "invalid media_id",
    40004: "invalid media type",
    40006: "invalid media size",
}


@dataclass(frozen=True)
class WeComMessage:
    """One message the group saw."""

    msgtype: str
    body: dict[str, Any]
    at: float
    data: bytes | None = None
    filename: str | None = None

    @property
    def content(self) -> str:
        """The text or markdown content."""
        return str(self.body.get("content", ""))


class FakeWeComWebhook(LoopbackServer):
    """One group robot on 127.0.0.1; point ``KAOHE_WECOM_WEBHOOK_URL`` at ``webhook_url``."""

    name = "fake WeCom webhook"

    def __init__(
        self, *, key: str = "wecom-robot-key", clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.key = key
        self._clock = clock
        self.messages: list[WeComMessage] = []
        self.rejected: list[tuple[dict[str, Any], int]] = []
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self._window: deque[float] = deque()
        self._scripted: list[int] = []
        self._hang = 0

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{SEND_PATH}?key={self.key}"

    def use_up_rate(self) -> None:
        """Someone else just sent this robot's 20 messages of the minute."""
        self._window.extend([self._clock()] * PER_MINUTE)

    def fail_next(self, errcode: int, *, times: int = 1) -> None:
        """The next ``times`` sends answer ``errcode``."""
        self._scripted.extend([errcode] * times)

    def hang_next(self, *, times: int = 1) -> None:
        """The next ``times`` sends never answer."""
        self._hang += times

    async def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[WeComMessage]:
        """Until the group saw ``count`` messages; all it saw."""
        await self.changes.until(lambda: len(self.messages) >= count, timeout, f"{count} messages")
        return self.messages

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(SEND_PATH, self._send)
        app.router.add_post(UPLOAD_PATH, self._upload)

    def _answer(self, errcode: int, **extra: Any) -> web.Response:
        return json_response({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "ok"), **extra})

    def _rate_exceeded(self) -> bool:
        now = self._clock()
        while self._window and now - self._window[0] >= WINDOW:
            self._window.popleft()
        if len(self._window) >= PER_MINUTE:
            return True
        self._window.append(now)
        return False

    async def _send(self, request: web.Request) -> web.Response:
        if self._hang:
            self._hang -= 1
            return await self.hang()
        if request.query.get("key") != self.key:
            return self._answer(93000)
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return self._answer(40008)
        if self._scripted:
            errcode = self._scripted.pop(0)
        elif self._rate_exceeded():
            errcode = 45009
        else:
            errcode = self._accept(payload)
        if errcode:
            self.rejected.append((payload, errcode))
        self.changes.fire()
        return self._answer(errcode)

    def _accept(self, payload: dict[str, Any]) -> int:
        """Record a valid message; the errcode of an invalid one."""
        msgtype = payload.get("msgtype")
        body = payload.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(body, dict):
            return 40008
        if msgtype in LIMITS:
            size = len(str(body.get("content", "")).encode())
            if not size:
                return 44004
            if size > LIMITS[msgtype]:
                return 40058
            self.messages.append(WeComMessage(msgtype, body, self._clock()))
        elif msgtype == "image":
            try:
                data = base64.b64decode(str(body.get("base64", "")), validate=True)
            except (binascii.Error, ValueError):
                return 40009
            if (
                not data.startswith(IMAGE_MAGIC)
                or len(data) > IMAGE_LIMIT
                or hashlib.md5(data).hexdigest() != body.get("md5")
            ):
                return 40009
            self.messages.append(WeComMessage(msgtype, body, self._clock(), data))
        elif msgtype == "file":
            upload = self.uploads.get(str(body.get("media_id")))
            if upload is None:
                return 40007
            self.messages.append(WeComMessage(msgtype, body, self._clock(), upload[1], upload[0]))
        else:
            return 40008
        return 0

    async def _upload(self, request: web.Request) -> web.Response:
        if request.query.get("key") != self.key:
            return self._answer(93000)
        if request.query.get("type") not in ("file", "voice"):
            return self._answer(40004)
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return self._answer(40004)
        data = media.file.read()
        if not FILE_MIN <= len(data) <= FILE_MAX:
            return self._answer(40006)
        media_id = uuid.uuid4().hex
        self.uploads[media_id] = (media.filename, data)
        created = str(int(time.time()))
        return self._answer(0, type="file", media_id=media_id, created_at=created)
