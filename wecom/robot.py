"""A 企业微信 (WeCom) group robot (群机器人): posting to a group by its webhook URL.

WeCom's "群机器人配置说明" (developer.work.weixin.qq.com/document/path/91770, and its newer
"消息推送配置说明", /document/path/99110) is the source of every rule here:

- ``POST …/cgi-bin/webhook/send?key=KEY`` with ``{"msgtype": "text", "text": {"content"}}``
  (content ≤ 2048 bytes, UTF-8), ``{"msgtype": "markdown", "markdown": {"content"}}``
  (≤ 4096 bytes), ``{"msgtype": "image", "image": {"base64", "md5"}}`` (the image before
  base64 ≤ 2 MB, JPG or PNG; md5 of the raw bytes) or ``{"msgtype": "file", "file":
  {"media_id"}}``; the answer is ``{"errcode": 0, "errmsg": "ok"}`` or another errcode;
- ``POST …/cgi-bin/webhook/upload_media?key=KEY&type=file`` (multipart field ``media``,
  5 bytes to 20 MB) → ``{"errcode": 0, "media_id"}``, good for three days;
- each robot may send at most 20 messages a minute; past that it answers errcode 45009.

So a long text or markdown is split into several messages on line boundaries (by bytes), and
sends are paced to 20 in any 60 seconds (waiting, never dropping); a 45009 anyway (someone else
posts with the same robot) waits a minute and tries again. The webhook URL holds the robot's
key: it never appears in a log line or an error message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import SecretStr

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
IMAGE_LIMIT = 2 * 1024 * 1024
FILE_MIN, FILE_MAX = 5, 20 * 1024 * 1024
PER_MINUTE = 20
WINDOW = 60.0
RATE_LIMITED = 45009
SEND_PATH = "/cgi-bin/webhook/send"
UPLOAD_PATH = "/cgi-bin/webhook/upload_media"
# -1: system busy. Every other errcode (93000 bad key, 40058 too long, 44004 empty …) is final.
_BUSY = frozenset({-1})


class WeComError(Exception):
    """A WeCom robot call that failed; ``retryable`` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool, errcode: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.errcode = errcode


def _cut(line: str, limit: int) -> list[str]:
    """``line`` in pieces of at most ``limit`` UTF-8 bytes, cut between characters."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    pieces.append("".join(current))
    return pieces


def split_utf8(text: str, limit: int) -> list[str]:
    """``text`` in messages of at most ``limit`` UTF-8 bytes, split between lines (a line
    longer than ``limit`` alone is cut between characters). Joining them with newlines gives
    ``text`` back, but for the newline at each split."""
    if len(text.encode()) <= limit:
        return [text]
    messages: list[str] = []
    current: list[str] = []
    size = -1  # bytes of "\n".join(current)
    for line in text.split("\n"):
        for piece in _cut(line, limit):
            width = len(piece.encode())
            if current and size + 1 + width > limit:
                messages.append("\n".join(current))
                current, size = [], -1
            current.append(piece)
            size += 1 + width
    messages.append("\n".join(current))
    return messages


class WeComRobot:
    """One group robot. ``http`` is the caller's client (closed by the caller on shutdown);
    ``clock`` and ``sleep`` are injectable so tests need not wait a minute."""

    def __init__(
        self,
        webhook_url: SecretStr | str,
        *,
        http: httpx.AsyncClient,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rate_retries: int = 3,
    ) -> None:
        url = webhook_url if isinstance(webhook_url, str) else webhook_url.get_secret_value()
        self._send_url = httpx.URL(url)
        self._upload_url = self._send_url.copy_with(path=UPLOAD_PATH).copy_merge_params(
            {"type": "file"}
        )
        self._timeout = timeout
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._rate_retries = rate_retries
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def send_text(self, content: str) -> None:
        """Plain text, as several messages if it is over 2048 bytes."""
        for part in split_utf8(content, TEXT_LIMIT):
            await self._post({"msgtype": "text", "text": {"content": part}})

    async def send_markdown(self, content: str) -> None:
        """WeCom markdown, as several messages if it is over 4096 bytes."""
        for part in split_utf8(content, MARKDOWN_LIMIT):
            await self._post({"msgtype": "markdown", "markdown": {"content": part}})

    async def send_image(self, data: bytes) -> None:
        """A JPG or PNG image of at most 2 MB."""
        if len(data) > IMAGE_LIMIT:
            raise WeComError(f"image: {len(data)} bytes, over WeCom's 2 MB", retryable=False)
        image = {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()}
        await self._post({"msgtype": "image", "image": image})

    async def send_file(self, data: bytes, filename: str) -> None:
        """A file (5 bytes to 20 MB): uploaded to the robot first, then posted."""
        if not FILE_MIN <= len(data) <= FILE_MAX:
            raise WeComError(f"file: {len(data)} bytes, not 5 B to 20 MB", retryable=False)
        response = await self._request(
            self._upload_url, "file upload", files={"media": (filename, data)}
        )
        media_id = response.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeComError("file upload: no media_id in the answer", retryable=False)
        await self._post({"msgtype": "file", "file": {"media_id": media_id}})

    async def _post(self, message: dict[str, Any]) -> None:
        """Send one message at the robot's pace; on 45009 wait a minute and try again."""
        what = f"{message['msgtype']} message"
        async with self._lock:
            for attempt in range(self._rate_retries + 1):
                await self._pace()
                self._sent.append(self._clock())
                try:
                    await self._request(self._send_url, what, json=message)
                    return
                except WeComError as exc:
                    if exc.errcode != RATE_LIMITED or attempt == self._rate_retries:
                        raise
                logger.warning("WeCom robot rate-limited (45009); waiting %.0f s", WINDOW)
                await self._sleep(WINDOW)

    async def _pace(self) -> None:
        """Wait until fewer than 20 messages went out in the last 60 seconds."""
        while len(self._sent) >= PER_MINUTE:
            wait = self._sent[0] + WINDOW - self._clock()
            if wait <= 0:
                self._sent.popleft()
            else:
                await self._sleep(wait)

    async def _request(self, url: httpx.URL, what: str, **kwargs: Any) -> dict[str, Any]:
        """POST with the timeout; the JSON answer if errcode is 0, else a WeComError."""
        try:
            response = await self._http.post(url, timeout=self._timeout, **kwargs)
        except httpx.TransportError as exc:
            raise WeComError(f"{what}: {type(exc).__name__}", retryable=True) from None
        if not response.is_success:
            status = response.status_code
            retryable = status == 429 or status >= 500
            raise WeComError(f"{what}: HTTP {status}", retryable=retryable)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise WeComError(f"{what}: the answer is not a JSON object", retryable=True)
        errcode = body.get("errcode", -1)
        if errcode != 0:
            retryable = errcode in _BUSY or errcode == RATE_LIMITED
            raise WeComError(
                f"{what}: errcode {errcode} {body.get('errmsg', '')}".rstrip(),
                retryable=retryable,
                errcode=errcode,
            )
        return body
