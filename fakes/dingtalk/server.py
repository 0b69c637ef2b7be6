"""The loopback fake of DingTalk: Stream gateway, OpenAPI and the older oapi on one port.

Sources: see the package docstring (``fakes/dingtalk/__init__.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from aiohttp import WSMsgType, web

from fakes.dingtalk.payloads import (
    ROBOT_TOPIC,
    Chat,
    file_content,
    frame,
    picture_content,
    robot_message,
    text_content,
)
from fakes.loopback import LoopbackServer, json_response

OPEN_PATH = "/v1.0/gateway/connections/open"
CONNECT_PATH = "/connect"
TOKEN_PATH = "/v1.0/oauth2/accessToken"
USERS_SEND_PATH = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
DOWNLOAD_PATH = "/v1.0/robot/messageFiles/download"
FILES_PATH = "/files"
OAPI_PREFIX = "/oapi"
OAPI_TOKEN_PATH = OAPI_PREFIX + "/gettoken"
OAPI_UPLOAD_PATH = OAPI_PREFIX + "/media/upload"
TOKEN_HEADER = "x-acs-dingtalk-access-token"

MAX_USERS_PER_SEND = 20
MAX_GROUP_PARAM_BYTES = 15_000
MAX_MEDIA_BYTES = 20 * 1024 * 1024
MEDIA_SUFFIXES = {
    "image": {".jpg", ".jpeg", ".png", ".gif", ".bmp"},
    "file": {".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".zip", ".pdf", ".rar"},
}
PARAM_FIELDS = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleImageMsg": ("photoURL",),
    "sampleFile": ("mediaId", "fileName", "fileType"),
}
PRIVATE = "private"
GROUP = "group"
BODY: web.RequestKey[Any] = web.RequestKey("body", object)


@dataclass(frozen=True)
class Call:
    """One HTTP request to the fake and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int


@dataclass(frozen=True)
class Media:
    """A file uploaded through ``/media/upload``."""

    media_id: str
    type: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class Sent:
    """One robot message as a recipient got it (a 1:1 send to three people is three)."""

    to: str
    group: bool
    msg_key: str
    param: dict[str, Any]
    media: Media | None = None

    @property
    def text(self) -> str:
        """The markdown text or the plain content."""
        return str(self.param.get("text", self.param.get("content", "")))

    @property
    def title(self) -> str:
        return str(self.param.get("title", ""))


@dataclass
class Frame:
    """A robot message pushed to the app, with what became of it."""

    msg_id: str
    message_id: str
    body: dict[str, Any]
    deliveries: int = 0
    acked: bool = False
    last_sent: float | None = None


@dataclass
class _Connection:
    id: str
    ws: web.WebSocketResponse
    topics: frozenset[str]


@dataclass
class _Script:
    status: int | None
    errcode: int | None
    remaining: int
    after: int


def _error(status: int, code: str, message: str) -> web.Response:
    """An OpenAPI error: ``{code, message, requestid}`` with an HTTP error status."""
    return json_response({"code": code, "message": message, "requestid": uuid.uuid4().hex}, status)


def _oapi_error(errcode: int, errmsg: str) -> web.Response:
    """An oapi error: HTTP 200 with ``errcode`` ≠ 0."""
    return json_response({"errcode": errcode, "errmsg": errmsg, "request_id": uuid.uuid4().hex})


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    request[BODY] = body
    return body if isinstance(body, dict) else {}


@dataclass
class _State:
    """Everything the fake remembers; tests read it through FakeDingTalk's attributes."""

    calls: list[Call] = field(default_factory=list)
    sends: list[Sent] = field(default_factory=list)
    opened: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[str, Frame] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    connections: int = 0


class FakeDingTalk(LoopbackServer):
    """DingTalk for the robot of one internal app, on 127.0.0.1. See the package docstring."""

    name = "fake DingTalk"

    def __init__(
        self,
        *,
        client_id: str = "ding-app-key",
        client_secret: str = "ding-app-secret",
        robot_code: str | None = None,
        corp_id: str = "ding-corp",
        group_id: str = "cid-group-bureau",
        group_title: str = "局机关考核群",
        ack_timeout: float = 2.0,
        token_lifetime: int = 7200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.robot_code = robot_code or client_id
        self.corp_id = corp_id
        self.group_id = group_id
        self.groups: dict[str, str] = {group_id: group_title}
        self.users: dict[str, str] = {}
        self.ack_timeout = ack_timeout
        self.token_lifetime = token_lifetime
        self._clock = clock
        self.state = _State()
        self._tokens: dict[str, float] = {}
        self._oapi_tokens: dict[str, float] = {}
        self._tickets: dict[str, frozenset[str]] = {}
        self._downloads: dict[str, str] = {}
        self._scripts: dict[str, list[_Script]] = {}
        self._flow_controlled: dict[str, int] = {}
        self._system_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._live: _Connection | None = None
        self._queue: asyncio.Queue[tuple[Frame, bool]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_sweep = float("-inf")
        self._ids = itertools.count(1)

    # -- addresses ----------------------------------------------------------------------------

    @property
    def openapi_url(self) -> str:
        """For KAOHE_DINGTALK_OPENAPI_URL: the Stream gateway's open call and the OpenAPI."""
        return self.base_url

    @property
    def oapi_url(self) -> str:
        """For KAOHE_DINGTALK_OAPI_URL."""
        return self.base_url + OAPI_PREFIX

    # -- what happened ------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        return self.state.calls

    @property
    def sends(self) -> list[Sent]:
        return self.state.sends

    @property
    def connected(self) -> bool:
        """An app is connected to the Stream gateway."""
        return self._live is not None and not self._live.ws.closed

    def calls_to(self, path: str) -> list[Call]:
        """The calls to one path (``TOKEN_PATH``, ``USERS_SEND_PATH`` …)."""
        return [call for call in self.calls if call.path == path]

    def sends_to(self, to: str) -> list[Sent]:
        """The messages a user (staff id) or a group (openConversationId) got."""
        return [sent for sent in self.sends if sent.to == to]

    def deliveries(self, msg_id: str) -> int:
        """How many times the robot message ``msg_id`` was pushed to the app."""
        return self.state.frames[msg_id].deliveries

    def acked(self, msg_id: str) -> bool:
        return self.state.frames[msg_id].acked

    # -- scripting ----------------------------------------------------------------------------

    def add_user(self, staff_id: str, nick: str | None = None) -> str:
        """A person of the organisation (1:1 sends to anyone else are refused); their nick."""
        self.users.setdefault(staff_id, nick or f"用户{staff_id}")
        if nick:
            self.users[staff_id] = nick
        return self.users[staff_id]

    def fail_next(
        self,
        path: str,
        status: int | None = 500,
        *,
        times: int = 1,
        errcode: int | None = None,
        after: int = 0,
    ) -> None:
        """After ``after`` more calls to ``path`` pass, the next ``times`` answer HTTP
        ``status`` (with ``errcode``, for an oapi path: HTTP 200 and that errcode);
        ``status=None``: they hang until the fake stops, for the caller's timeout to end them."""
        self._scripts.setdefault(path, []).append(_Script(status, errcode, times, after))

    def hang_next(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` never answer."""
        self.fail_next(path, None, times=times)

    def flow_control(self, staff_id: str, *, times: int = 1) -> None:
        """The next ``times`` 1:1 sends to ``staff_id`` are held back (flow control)."""
        self._flow_controlled[staff_id] = self._flow_controlled.get(staff_id, 0) + times

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (401 / errcode 40014)."""
        self._tokens.clear()
        self._oapi_tokens.clear()

    def store_file(self, data: bytes, download_code: str | None = None) -> str:
        """A file someone sent to the robot; its downloadCode."""
        code = download_code or f"dc-{uuid.uuid4().hex}"
        self.state.files[code] = data
        return code

    # -- pushing robot messages ---------------------------------------------------------------

    def inject_text(
        self,
        user: str,
        text: str,
        *,
        conversation: str = PRIVATE,
        at: bool = True,
        msg_id: str | None = None,
        nick: str | None = None,
    ) -> str:
        """``user`` (a staff id) writes ``text`` to the robot; the message's msgId."""
        content = text_content(text, group=conversation == GROUP)
        return self.inject(user, content, conversation, at=at, msg_id=msg_id, nick=nick)

    def inject_picture(
        self,
        user: str,
        image: bytes,
        *,
        text: str | None = None,
        conversation: str = PRIVATE,
        at: bool = True,
        msg_id: str | None = None,
        nick: str | None = None,
    ) -> str:
        """``user`` sends a picture (with ``text``: a richText message); the msgId."""
        content = picture_content(self.store_file(image), text)
        return self.inject(user, content, conversation, at=at, msg_id=msg_id, nick=nick)

    def inject_file(
        self,
        user: str,
        data: bytes,
        file_name: str,
        *,
        msg_id: str | None = None,
        nick: str | None = None,
    ) -> str:
        """``user`` sends a file to the robot in private (msgtype file); the msgId."""
        content = file_content(self.store_file(data), file_name)
        return self.inject(user, content, PRIVATE, msg_id=msg_id, nick=nick)

    def redeliver(self, msg_id: str) -> None:
        """Push the message ``msg_id`` again now, acknowledged or not (it wants a new ACK)."""
        found = self.state.frames[msg_id]
        found.acked = False
        self._queue.put_nowait((found, True))

    def inject(
        self,
        user: str,
        content: dict[str, Any],
        conversation: str = PRIVATE,
        *,
        at: bool = True,
        msg_id: str | None = None,
        nick: str | None = None,
    ) -> str:
        """``user`` sends a message whose ``msgtype`` and body are ``content`` (audio, file …
        or a malformed one); the msgId."""
        if conversation not in (PRIVATE, GROUP):
            raise ValueError(f"conversation is {PRIVATE!r} or {GROUP!r}, not {conversation!r}")
        msg_id = msg_id or f"msg{uuid.uuid4().hex}"
        data = robot_message(
            msg_id=msg_id,
            staff_id=user,
            nick=self.add_user(user, nick),
            chat=self._chat(user, conversation),
            at=at,
            content=content,
        )
        message_id = f"frame-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        body = frame(
            "CALLBACK", ROBOT_TOPIC, message_id, data, app_id=self.client_id, connection_id=""
        )
        pushed = Frame(msg_id, message_id, body)
        self.state.frames[msg_id] = pushed
        self._queue.put_nowait((pushed, False))
        return msg_id

    def _chat(self, user: str, conversation: str) -> Chat:
        group = conversation == GROUP
        return Chat(
            conversation_type="2" if group else "1",
            conversation_id=self.group_id if group else f"cid-private-{user}",
            title=self.groups[self.group_id] if group else "",
            robot_code=self.robot_code,
            chatbot_user_id=f"$:LWCP_v1:$robot-{self.robot_code}",
            corp_id=self.corp_id,
            session_webhook=f"{self.base_url}/robot/sendBySession?session={uuid.uuid4().hex}",
        )

    async def _push(self, pushed: Frame) -> bool:
        live = self._live
        if live is None or live.ws.closed or ROBOT_TOPIC not in live.topics:
            return False
        pushed.body["headers"]["connectionId"] = live.id
        pushed.deliveries += 1
        pushed.last_sent = self._clock()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await live.ws.send_str(json.dumps(pushed.body, ensure_ascii=False))
        self.changes.fire()
        return True

    async def _pusher(self) -> None:
        while True:
            pushed, again = await self._queue.get()
            if again or pushed.deliveries == 0:
                await self._push(pushed)

    async def sweep(self) -> list[str]:
        """Push again every message not acknowledged within ``ack_timeout``; their msgIds."""
        started = self._clock()
        resent = []
        for pushed in list(self.state.frames.values()):
            overdue = (
                pushed.last_sent is not None and started - pushed.last_sent >= self.ack_timeout
            )
            if not pushed.acked and overdue and await self._push(pushed):
                resent.append(pushed.msg_id)
        self._last_sweep = started
        self.changes.fire()
        return resent

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(max(self.ack_timeout / 4, 0.01))
            await self.sweep()

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for a redelivery sweep after every pushed message's ACK deadline: by then each
        message not acknowledged in time has been pushed again (and an acknowledged one not)."""
        sent = [f.last_sent for f in self.state.frames.values() if f.last_sent is not None]
        if not sent:
            return
        target = max(sent) + self.ack_timeout
        await self.changes.until(
            lambda: self._last_sweep >= target,
            timeout or self.ack_timeout * 4 + 5,
            "a redelivery sweep",
        )

    # -- SYSTEM frames ------------------------------------------------------------------------

    async def ping(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        """Send a SYSTEM ping; the opaque value sent and the ACK the app answered."""
        live = self._require_live()
        message_id, opaque = uuid.uuid4().hex, uuid.uuid4().hex
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._system_waiters[message_id] = waiter
        body = frame(
            "SYSTEM",
            "ping",
            message_id,
            {"opaque": opaque},
            app_id=self.client_id,
            connection_id=live.id,
        )
        await live.ws.send_str(json.dumps(body))
        try:
            return opaque, await asyncio.wait_for(waiter, timeout)
        finally:
            self._system_waiters.pop(message_id, None)

    async def disconnect(self) -> None:
        """Send a SYSTEM disconnect: the app should close and open a new connection."""
        live = self._require_live()
        body = frame(
            "SYSTEM",
            "disconnect",
            uuid.uuid4().hex,
            {"reason": "gateway restarting"},
            app_id=self.client_id,
            connection_id=live.id,
        )
        await live.ws.send_str(json.dumps(body))

    def _require_live(self) -> _Connection:
        if self._live is None or self._live.ws.closed:
            raise RuntimeError("no app is connected to the fake Stream gateway")
        return self._live

    # -- waiting ------------------------------------------------------------------------------

    async def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Until the app has opened ``count`` connections in all and one is open."""
        await self.changes.until(
            lambda: self.state.connections >= count and self.connected,
            timeout,
            f"connection #{count} to the Stream gateway",
        )

    async def wait_disconnected(self, timeout: float = 10.0) -> None:
        """Until no app is connected."""
        await self.changes.until(lambda: not self.connected, timeout, "the app to disconnect")

    async def wait_for_ack(self, msg_id: str, timeout: float = 5.0) -> None:
        """Until the app acknowledged the robot message ``msg_id``."""
        await self.changes.until(lambda: self.acked(msg_id), timeout, f"the ACK of {msg_id}")

    async def wait_for_deliveries(self, msg_id: str, count: int, timeout: float = 10.0) -> None:
        """Until ``msg_id`` was pushed ``count`` times."""
        await self.changes.until(
            lambda: self.deliveries(msg_id) >= count, timeout, f"delivery #{count} of {msg_id}"
        )

    async def wait_for_send(
        self,
        to: str,
        predicate: Callable[[Sent], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> Sent:
        """The first message (from index ``since`` of ``sends``) that ``to`` got and that
        ``predicate`` accepts."""

        def probe() -> Sent | None:
            for sent in self.sends[since:]:
                if sent.to == to and (predicate is None or predicate(sent)):
                    return sent
            return None

        return await self.changes.until(probe, timeout, f"a message to {to}")

    # -- server plumbing ----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)
        app.router.add_post(OPEN_PATH, self._open_connection)
        app.router.add_get(CONNECT_PATH, self._websocket)
        app.router.add_post(TOKEN_PATH, self._access_token)
        app.router.add_post(USERS_SEND_PATH, self._users_send)
        app.router.add_post(GROUP_SEND_PATH, self._group_send)
        app.router.add_post(DOWNLOAD_PATH, self._download_url)
        app.router.add_get(FILES_PATH + "/{name}", self._file)
        app.router.add_get(OAPI_TOKEN_PATH, self._oapi_token)
        app.router.add_post(OAPI_UPLOAD_PATH, self._oapi_upload)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await super().start(host, port)
        self._tasks = [asyncio.create_task(self._pusher()), asyncio.create_task(self._sweeper())]

    async def on_stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._live is not None:
            await self._live.ws.close()

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        scripted = self._scripted(request.path)
        if scripted is not None and scripted.status is None and scripted.errcode is None:
            return await self.hang()
        if scripted is not None:
            response: web.StreamResponse = (
                _oapi_error(scripted.errcode, "系统繁忙")
                if scripted.errcode is not None
                else _error(
                    scripted.status or 500, f"Scripted{scripted.status}", "scripted failure"
                )
            )
        else:
            response = await handler(request)
        if request.path != CONNECT_PATH:
            call = Call(
                request.method,
                request.path,
                dict(request.query),
                request.get(BODY),
                response.status,
            )
            self.state.calls.append(call)
            self.changes.fire()
        return response

    def _scripted(self, path: str) -> _Script | None:
        queue = self._scripts.get(path)
        if not queue:
            return None
        script = queue[0]
        if script.after > 0:
            script.after -= 1
            return None
        script.remaining -= 1
        if script.remaining <= 0:
            queue.pop(0)
        return script

    # -- the Stream gateway -------------------------------------------------------------------

    async def _open_connection(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        self.state.opened.append(body)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return _error(401, "InvalidAuthentication", "clientId 或 clientSecret 不正确")
        subscriptions = body.get("subscriptions")
        if not isinstance(subscriptions, list) or not subscriptions:
            return _error(400, "invalidParameter.subscriptions", "subscriptions 不能为空")
        topics = frozenset(
            str(s.get("topic"))
            for s in subscriptions
            if isinstance(s, dict) and s.get("type") == "CALLBACK"
        )
        ticket = uuid.uuid4().hex
        self._tickets[ticket] = topics
        endpoint = f"ws://{self._host}:{self._port}{CONNECT_PATH}"
        return json_response({"endpoint": endpoint, "ticket": ticket})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        topics = self._tickets.pop(request.query.get("ticket", ""), None)
        if topics is None:
            return _error(403, "InvalidTicket", "ticket 无效或已使用")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.state.connections += 1
        live = _Connection(f"conn-{self.state.connections}", ws, topics)
        self._live = live
        self.changes.fire()
        for pushed in list(self.state.frames.values()):
            if not pushed.acked:
                await self._push(pushed)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_answer(message.data)
        finally:
            if self._live is live:
                self._live = None
            self.changes.fire()
        return ws

    def _on_answer(self, raw: str) -> None:
        try:
            ack = json.loads(raw)
            message_id = ack["headers"]["messageId"]
        except (ValueError, KeyError, TypeError):
            return
        self.state.acks.append(ack)
        waiter = self._system_waiters.get(message_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)
        for pushed in self.state.frames.values():
            if pushed.message_id == message_id and ack.get("code") == 200:
                pushed.acked = True
        self.changes.fire()

    # -- the OpenAPI --------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expires = self._tokens.get(request.headers.get(TOKEN_HEADER, ""))
        return expires is not None and expires > self._clock()

    def _issue(self, tokens: dict[str, float]) -> str:
        token = uuid.uuid4().hex
        tokens[token] = self._clock() + self.token_lifetime
        return token

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return _error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = self._issue(self._tokens)
        return json_response({"accessToken": token, "expireIn": self.token_lifetime})

    def _refuse(self, request: web.Request, body: dict[str, Any]) -> web.Response | None:
        """The answer to a robot call that has no valid token or names another robot."""
        if not self._authorized(request):
            return _error(401, "InvalidAuthentication", "不合法的access_token")
        if body.get("robotCode") != self.robot_code:
            return _error(400, "invalidParameter.robotCode", "robotCode 不存在")
        return None

    def _message(self, body: dict[str, Any]) -> tuple[dict[str, Any], Media | None] | web.Response:
        """The message parameters (and the media they refer to), or the error answer."""
        key = body.get("msgKey")
        if key not in PARAM_FIELDS:
            return _error(400, "invalidParameter.msgKey", f"不支持的 msgKey: {key}")
        try:
            param = json.loads(body.get("msgParam", ""))
        except (TypeError, ValueError):
            return _error(400, "invalidParameter.msgParam", "msgParam 不是 JSON 字符串")
        if not isinstance(param, dict) or any(not param.get(f) for f in PARAM_FIELDS[key]):
            return _error(400, "invalidParameter.msgParam", f"{key} 需要 {PARAM_FIELDS[key]}")
        reference = param.get("photoURL") if key == "sampleImageMsg" else param.get("mediaId")
        if reference is None or str(reference).startswith(("http://", "https://")):
            return param, None
        media = self.state.media.get(str(reference))
        wanted = "image" if key == "sampleImageMsg" else "file"
        if media is None or media.type != wanted:
            return _error(400, "invalidParameter.mediaId", f"无效的 {wanted} mediaId")
        return param, media

    async def _robot_message(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, Any], Media | None] | web.Response:
        """A send's body, its message parameters and media, or the error answer."""
        body = await _json_body(request)
        refused = self._refuse(request, body)
        if refused is not None:
            return refused
        message = self._message(body)
        if isinstance(message, web.Response):
            return message
        return body, *message

    async def _users_send(self, request: web.Request) -> web.Response:
        checked = await self._robot_message(request)
        if isinstance(checked, web.Response):
            return checked
        body, param, media = checked
        user_ids = body.get("userIds")
        if (
            not isinstance(user_ids, list)
            or not 1 <= len(user_ids) <= MAX_USERS_PER_SEND
            or not all(isinstance(u, str) for u in user_ids)
        ):
            return _error(400, "invalidParameter.userIds", "userIds 为 1 到 20 个 userId")
        invalid = [u for u in user_ids if u not in self.users]
        held = [u for u in user_ids if u not in invalid and self._flow_controlled.get(u, 0) > 0]
        for user in user_ids:
            if user in held:
                self._flow_controlled[user] -= 1
            elif user not in invalid:
                self.state.sends.append(Sent(user, False, body["msgKey"], param, media))
        self.changes.fire()
        return json_response(
            {
                "processQueryKey": uuid.uuid4().hex,
                "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": held,
            }
        )

    async def _group_send(self, request: web.Request) -> web.Response:
        checked = await self._robot_message(request)
        if isinstance(checked, web.Response):
            return checked
        body, param, media = checked
        group = body.get("openConversationId")
        if group not in self.groups:
            return _error(400, "invalidParameter.openConversationId", "机器人不在该群或群不存在")
        if len(str(body.get("msgParam", "")).encode()) > MAX_GROUP_PARAM_BYTES:
            return _error(400, "invalidParameter.msgParam", "msgParam 超过 15000 字节")
        self.state.sends.append(Sent(str(group), True, body["msgKey"], param, media))
        self.changes.fire()
        return json_response({"processQueryKey": uuid.uuid4().hex})

    async def _download_url(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        refused = self._refuse(request, body)
        if refused is not None:
            return refused
        code = body.get("downloadCode")
        if code not in self.state.files:
            return _error(400, "invalidParameter.downloadCode", "downloadCode 无效或已过期")
        name = uuid.uuid4().hex
        self._downloads[name] = str(code)
        return json_response({"downloadUrl": f"{self.base_url}{FILES_PATH}/{name}"})

    async def _file(self, request: web.Request) -> web.Response:
        code = self._downloads.get(request.match_info["name"])
        if code is None:
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=self.state.files[code], content_type="application/octet-stream")

    # -- the older oapi -----------------------------------------------------------------------

    async def _oapi_token(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("appkey") != self.client_id or query.get("appsecret") != self.client_secret:
            return _oapi_error(40089, "不合法的appKey或appSecret的组合")
        token = self._issue(self._oapi_tokens)
        return json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_lifetime}
        )

    async def _oapi_upload(self, request: web.Request) -> web.Response:
        expires = self._oapi_tokens.get(request.query.get("access_token", ""))
        if expires is None or expires <= self._clock():
            return _oapi_error(40014, "不合法的access_token")
        media_type = request.query.get("type", "")
        if media_type not in MEDIA_SUFFIXES:
            return _oapi_error(40004, "不合法的媒体文件类型")
        form = await request.post()
        upload = form.get("media")
        if not isinstance(upload, web.FileField):
            return _oapi_error(40005, "缺少 media 文件")
        data = upload.file.read()
        request[BODY] = {"type": media_type, "filename": upload.filename, "size": len(data)}
        if PurePath(upload.filename).suffix.lower() not in MEDIA_SUFFIXES[media_type]:
            return _oapi_error(40005, "不合法的文件类型")
        if not data or len(data) > MAX_MEDIA_BYTES:
            return _oapi_error(40006, "不合法的文件大小")
        media_id = f"@lA{uuid.uuid4().hex}"
        self.state.media[media_id] = Media(media_id, media_type, upload.filename, data)
        return json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": media_type,
                "media_id": media_id,
                "created_at": int(time.time() * 1000),
            }
        )
