"""DingTalk's server APIs, as the robot of an internal app uses them: the access token, 1:1 and
group robot messages, the file of a picture someone sent, and uploading an image or a file.

Endpoints (DingTalk's documentation, open.dingtalk.com / help.dingtalk.io, "open/development"):
- ``POST {openapi}/v1.0/oauth2/accessToken`` ``{appKey, appSecret}`` → ``{accessToken, expireIn}``
  ("obtain the access token of an internal app");
- ``POST {openapi}/v1.0/robot/oToMessages/batchSend`` (header ``x-acs-dingtalk-access-token``)
  ``{robotCode, userIds (≤ 20), msgKey, msgParam}`` → ``{processQueryKey, invalidStaffIdList,
  flowControlledStaffIdList}`` ("chatbots-send-one-on-one-chat-messages-in-batches");
- ``POST {openapi}/v1.0/robot/groupMessages/send`` ``{robotCode, openConversationId, msgKey,
  msgParam}`` → ``{processQueryKey}`` ("the-robot-sends-a-group-message");
- ``POST {openapi}/v1.0/robot/messageFiles/download`` ``{downloadCode, robotCode}`` →
  ``{downloadUrl}`` ("download-the-file-content-of-the-robot-receiving-message");
- the older API, for media: ``GET {oapi}/gettoken?appkey=…&appsecret=…`` →
  ``{errcode, access_token, expires_in}`` and ``POST {oapi}/media/upload?access_token=…&type=
  image|file`` (multipart field ``media``) → ``{errcode, media_id}``; errors come as HTTP 200
  with ``errcode`` ≠ 0.
- msgKey/msgParam ("types of messages sent by robots"): ``sampleText {content}``,
  ``sampleMarkdown {title, text}``, ``sampleImageMsg {photoURL}`` (a URL or a media id),
  ``sampleFile {mediaId, fileName, fileType}``; ``msgParam`` is a JSON *string*.

Every call has a timeout. A failure raises :class:`DingTalkError`, whose ``retryable`` says
whether the same call may succeed later (HTTP 429, 5xx, DingTalk's flow control, a network error
or a timeout) or never will (any other 4xx, an unknown user or group). Secrets (the app secret,
tokens, download URLs) never appear in a log line or an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import httpx
from pydantic import SecretStr

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
MAX_USERS_PER_SEND = 20
TOKEN_MARGIN = 300.0
TOKEN_PATH = "/v1.0/oauth2/accessToken"
USERS_SEND_PATH = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
DOWNLOAD_PATH = "/v1.0/robot/messageFiles/download"
OAPI_TOKEN_PATH = "/gettoken"
OAPI_UPLOAD_PATH = "/media/upload"
# oapi errcodes: -1 system busy; 90002/90006/90018/90019 flow control. 40014/42001: bad token.
_OAPI_BUSY = frozenset({-1, 90002, 90006, 90018, 90019})
_OAPI_BAD_TOKEN = frozenset({40014, 42001})


TOO_LARGE = "tooLarge"  # a downloaded file above the caller's limit


class DingTalkError(Exception):
    """A DingTalk call that failed; ``retryable`` says whether trying again later can help.

    ``user_ids``: for a 1:1 send, the recipients who did not get the message (retry with them).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: str = "",
        user_ids: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.code = code
        self.user_ids = tuple(user_ids)

    def for_users(self, user_ids: Sequence[str]) -> DingTalkError:
        """The same failure, naming the recipients who did not get the message."""
        return DingTalkError(
            str(self),
            retryable=self.retryable,
            status=self.status,
            code=self.code,
            user_ids=user_ids,
        )


@dataclass(frozen=True)
class Users:
    """People in 1:1 chat with the robot, by their DingTalk userId (staff id)."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """A group the robot is in, by its openConversationId (``cid…``)."""

    open_conversation_id: str


Recipient = Users | Group


class _Token:
    """An access token, fetched once and kept until shortly before it expires."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        clock: Callable[[], float],
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._value: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._value is None or self._clock() >= self._renew_at:
                value, lifetime = await self._fetch()
                self._value = value
                self._renew_at = self._clock() + lifetime - min(TOKEN_MARGIN, lifetime / 2)
            return self._value

    def drop(self, stale: str) -> None:
        """DingTalk refused ``stale``: the next call fetches a new token."""
        if self._value == stale:
            self._value = None


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _openapi_answer(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON of a 2xx answer, or the DingTalkError the answer stands for."""
    body = _json(response)
    if response.is_success:
        return body
    code = str(body.get("code", ""))
    retryable = _retryable_status(response.status_code) or "QpsLimit" in code
    raise DingTalkError(
        f"{what}: HTTP {response.status_code} {code} {body.get('message', '')}".rstrip(),
        retryable=retryable,
        status=response.status_code,
        code=code,
    )


def _oapi_answer(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON of an errcode-0 answer of the older API, or the DingTalkError it stands for."""
    if not response.is_success:
        raise DingTalkError(
            f"{what}: HTTP {response.status_code}",
            retryable=_retryable_status(response.status_code),
            status=response.status_code,
        )
    body = _json(response)
    errcode = body.get("errcode", -1)
    if errcode == 0:
        return body
    raise DingTalkError(
        f"{what}: errcode {errcode} {body.get('errmsg', '')}".rstrip(),
        retryable=errcode in _OAPI_BUSY,
        status=response.status_code,
        code=str(errcode),
    )


class DingTalkApi:
    """The robot's side of DingTalk's server APIs, with its tokens cached.

    ``http`` is the caller's client (one for every messenger, closed by the caller on
    shutdown); each call sets its own timeout.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        client_id: str,
        client_secret: SecretStr | str,
        robot_code: str,
        openapi_url: str = "https://api.dingtalk.com",
        oapi_url: str = "https://oapi.dingtalk.com",
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._secret = SecretStr(client_secret) if isinstance(client_secret, str) else client_secret
        self.robot_code = robot_code
        self._openapi_url = openapi_url.rstrip("/")
        self._oapi_url = oapi_url.rstrip("/")
        self._timeout = timeout
        self._http = http
        self._token = _Token(self._fetch_token, clock)
        self._oapi_token = _Token(self._fetch_oapi_token, clock)

    async def verify(self) -> None:
        """Fetch an access token: DingTalk accepts the app's credentials (or DingTalkError)."""
        await self._token.get()

    # -- sending ------------------------------------------------------------------------------

    async def send_markdown(self, to: Recipient, title: str, text: str) -> None:
        """A markdown message (``title`` shows in the chat list and notifications)."""
        await self._send(to, "sampleMarkdown", {"title": title, "text": text})

    async def send_to_users(self, user_ids: Sequence[str], title: str, text: str) -> None:
        """A markdown message to each of ``user_ids`` in their 1:1 chat with the robot."""
        await self.send_markdown(Users(tuple(user_ids)), title, text)

    async def send_to_group(self, open_conversation_id: str, title: str, text: str) -> None:
        """A markdown message to a group the robot is in."""
        await self.send_markdown(Group(open_conversation_id), title, text)

    async def send_text(self, to: Recipient, content: str) -> None:
        """A plain text message."""
        await self._send(to, "sampleText", {"content": content})

    async def send_image(self, to: Recipient, data: bytes, filename: str = "image.png") -> None:
        """An image (JPG, PNG, GIF or BMP), uploaded as media first."""
        media_id = await self.upload_media(data, filename, "image")
        await self._send(to, "sampleImageMsg", {"photoURL": media_id})

    async def send_file(self, to: Recipient, data: bytes, filename: str) -> None:
        """A file (xlsx, pdf, docx, zip …), uploaded as media first."""
        media_id = await self.upload_media(data, filename, "file")
        file_type = PurePath(filename).suffix.lstrip(".").lower()
        param = {"mediaId": media_id, "fileName": filename, "fileType": file_type}
        await self._send(to, "sampleFile", param)

    async def _send(self, to: Recipient, msg_key: str, param: dict[str, str]) -> None:
        body = {
            "robotCode": self.robot_code,
            "msgKey": msg_key,
            "msgParam": json.dumps(param, ensure_ascii=False),
        }
        if isinstance(to, Group):
            body["openConversationId"] = to.open_conversation_id
            await self._openapi(GROUP_SEND_PATH, body, "group message")
            logger.debug("DingTalk %s sent to group %s", msg_key, to.open_conversation_id)
            return
        pending = list(to.ids)
        flow_controlled: list[str] = []
        invalid: list[str] = []
        while pending:
            batch = pending[:MAX_USERS_PER_SEND]
            try:
                answer = await self._openapi(USERS_SEND_PATH, {**body, "userIds": batch}, "message")
            except DingTalkError as exc:
                raise exc.for_users(flow_controlled + pending) from exc
            del pending[:MAX_USERS_PER_SEND]
            flow_controlled += answer.get("flowControlledStaffIdList") or []
            invalid += answer.get("invalidStaffIdList") or []
        logger.debug("DingTalk %s sent to %d users", msg_key, len(to.ids))
        if invalid:
            logger.warning("DingTalk knows no user %s; %s not sent to them", invalid, msg_key)
        if flow_controlled:
            raise DingTalkError(
                f"message: DingTalk held back {len(flow_controlled)} recipients (flow control)",
                retryable=True,
                code="flowControlled",
                user_ids=flow_controlled,
            )
        if invalid:
            raise DingTalkError(
                "message: DingTalk knows no such user",
                retryable=False,
                code="invalidStaffId",
                user_ids=invalid,
            )

    # -- receiving files ----------------------------------------------------------------------

    async def download(self, download_code: str, *, limit: int | None = None) -> bytes:
        """The file behind a ``downloadCode`` of a message someone sent to the robot; a file
        larger than ``limit`` bytes is not read past it (DingTalkError, code ``tooLarge``)."""
        answer = await self._openapi(
            DOWNLOAD_PATH,
            {"downloadCode": download_code, "robotCode": self.robot_code},
            "file download",
        )
        url = answer.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise DingTalkError("file download: no downloadUrl in the answer", retryable=False)
        try:
            async with self._http.stream("GET", url, timeout=self._timeout) as response:
                if not response.is_success:
                    raise DingTalkError(
                        f"file download: HTTP {response.status_code}",
                        retryable=_retryable_status(response.status_code),
                        status=response.status_code,
                    )
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if limit is not None and len(data) > limit:
                        raise DingTalkError(
                            f"file download: larger than {limit} bytes",
                            retryable=False,
                            code=TOO_LARGE,
                        )
                return bytes(data)
        except httpx.TransportError as exc:
            raise DingTalkError(f"file download: {type(exc).__name__}", retryable=True) from None

    async def upload_media(self, data: bytes, filename: str, media_type: str) -> str:
        """Upload through the older API; the ``media_id`` that image and file messages take."""
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        for attempt in (1, 2):
            token = await self._oapi_token.get()
            response = await self._request(
                "POST",
                self._oapi_url + OAPI_UPLOAD_PATH,
                "media upload",
                params={"access_token": token, "type": media_type},
                files={"media": (filename, data, mime)},
            )
            if attempt == 1 and _json(response).get("errcode") in _OAPI_BAD_TOKEN:
                self._oapi_token.drop(token)
                continue
            break
        media_id = _oapi_answer(response, "media upload").get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise DingTalkError("media upload: no media_id in the answer", retryable=False)
        return media_id

    # -- plumbing -----------------------------------------------------------------------------

    async def _request(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One HTTP request with the timeout; a network failure is a retryable DingTalkError."""
        try:
            return await self._http.request(method, url, timeout=self._timeout, **kwargs)
        except httpx.TransportError as exc:
            raise DingTalkError(f"{what}: {type(exc).__name__}", retryable=True) from None

    async def _openapi(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """POST to the OpenAPI with the access token, fetching a new one once if it was refused."""
        for attempt in (1, 2):
            token = await self._token.get()
            response = await self._request(
                "POST",
                self._openapi_url + path,
                what,
                json=body,
                headers={"x-acs-dingtalk-access-token": token},
            )
            if response.status_code == 401 and attempt == 1:
                self._token.drop(token)
                continue
            break
        return _openapi_answer(response, what)

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._request(
            "POST",
            self._openapi_url + TOKEN_PATH,
            "access token",
            json={"appKey": self._client_id, "appSecret": self._secret.get_secret_value()},
        )
        answer = _openapi_answer(response, "access token")
        return str(answer["accessToken"]), float(answer["expireIn"])

    async def _fetch_oapi_token(self) -> tuple[str, float]:
        response = await self._request(
            "GET",
            self._oapi_url + OAPI_TOKEN_PATH,
            "oapi token",
            params={"appkey": self._client_id, "appsecret": self._secret.get_secret_value()},
        )
        answer = _oapi_answer(response, "oapi token")
        return str(answer["access_token"]), float(answer.get("expires_in", 7200))
