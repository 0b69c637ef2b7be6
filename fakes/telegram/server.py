"""The loopback server: the aiohttp app and its routes, the update queue with long polling and
redelivery, the record of every call, and the scripting a test does (inject, fail, block).

The real python-telegram-bot ``Application`` talks to it over real HTTP, so nothing ever
contacts Telegram::

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
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import copy
import dataclasses
import logging
import mimetypes
import time
from collections.abc import Mapping
from typing import Any, Self

from aiohttp import web

from fakes.telegram.chats import Chats, button_data, message_ref
from fakes.telegram.control import control_routes
from fakes.telegram.formatting import auto_entities
from fakes.telegram.media import MAX_UPLOAD, FileStore
from fakes.telegram.methods import BotMethods, Method
from fakes.telegram.wire import (
    ApiCall,
    ApiError,
    CallPredicate,
    JSONDict,
    Request,
    Upload,
    as_int,
    json_response,
    read_params,
    update_type,
)

logger = logging.getLogger(__name__)

DEFAULT_BOT_ID = 1_000_000_001
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


class Signal:
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


@dataclasses.dataclass
class _Failure:
    status: int
    description: str
    retry_after: int
    remaining: int

    def error(self) -> ApiError:
        params = {"retry_after": self.retry_after} if self.status == 429 else None
        return ApiError(self.status, self.description, params)


# --------------------------------------------------------------------------------------------
# Updates: the queue getUpdates long-polls, redelivery, and the webhook that replaces polling
# --------------------------------------------------------------------------------------------


class Updates:
    """Updates waiting for the bot, as Telegram keeps them until an offset confirms them."""

    def __init__(self) -> None:
        self.webhook: JSONDict | None = None
        self.closing = False
        self.arrived = Signal()  # an update was queued (or the server is closing)
        self.parked = Signal()  # a long poll started waiting
        self.pending: list[JSONDict] = []
        self._history: dict[int, JSONDict] = {}
        self._redelivering: set[int] = set()
        self._next_update_id = 1
        self._poll_generation = 0
        self._parked_polls: dict[int, int] = {}  # generation of a getUpdates → parked count
        self._allowed: frozenset[str] = DEFAULT_ALLOWED

    @property
    def polling(self) -> bool:
        return bool(self._parked_polls)

    @property
    def poll_mark(self) -> int:
        """The latest getUpdates so far: a poll parked after it came from a later request."""
        return self._poll_generation

    def polling_after(self, mark: int) -> bool:
        """Whether a getUpdates made after ``mark`` is parked (a bot started since)."""
        return any(generation > mark for generation in self._parked_polls)

    def table(self) -> dict[str, Method]:
        return {
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
        }

    def queue(self, update: Mapping[str, Any]) -> JSONDict:
        """Queue an update (assigning ``update_id`` if missing); returns a copy."""
        stored = copy.deepcopy(dict(update))
        update_id = as_int(stored.get("update_id"))
        if update_id is None:
            update_id = self._next_update_id
        stored["update_id"] = update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._history[update_id] = stored
        self._enqueue(stored)
        logger.debug("injected update %s (%s)", update_id, update_type(stored))
        return copy.deepcopy(stored)

    def redeliver(self, update_id: int) -> JSONDict:
        """Put an (already confirmed) update back, as Telegram does after a crash."""
        update = self._history[update_id]
        self._redelivering.add(update_id)
        self._enqueue(update)
        return copy.deepcopy(update)

    def clear(self) -> None:
        """Drop every pending update."""
        self.pending.clear()
        self._redelivering.clear()

    def _enqueue(self, update: JSONDict) -> None:
        update_id = int(update["update_id"])
        pending = self.pending
        if not pending or int(pending[-1]["update_id"]) < update_id:
            pending.append(update)
        else:
            pos = bisect.bisect_left(pending, update_id, key=lambda u: int(u["update_id"]))
            if pos == len(pending) or int(pending[pos]["update_id"]) != update_id:
                pending.insert(pos, update)
        self.arrived.fire()

    async def get_updates(self, req: Request) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        params = req.params
        limit = min(max(as_int(params.get("limit")) or 100, 1), 100)
        timeout = float(params.get("timeout") or 0)
        self._set_allowed(params.get("allowed_updates"))
        self._confirm(as_int(params.get("offset")) or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self.arrived.fire()  # an older, still waiting getUpdates now answers 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self.arrived.current()
            batch = self._take(limit)
            if batch or self.closing or loop.time() >= deadline:
                return batch
            await self._park(event, deadline - loop.time(), generation)
            if generation != self._poll_generation:
                raise ApiError(409, GET_UPDATES_CONFLICT)

    async def _park(self, event: asyncio.Event, timeout: float, generation: int) -> None:
        parked = self._parked_polls
        parked[generation] = parked.get(generation, 0) + 1
        self.parked.fire()
        try:
            await Signal.wait(event, timeout)
        finally:
            parked[generation] -= 1
            if not parked[generation]:
                del parked[generation]

    def _set_allowed(self, allowed: Any) -> None:
        if isinstance(allowed, list):
            self._allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED

    def _confirm(self, offset: int) -> None:
        """Forget updates below ``offset`` (a negative offset keeps only the last -offset)."""
        if offset < 0:
            self.pending = self.pending[offset:]
        elif offset > 0:
            self.pending = [
                u
                for u in self.pending
                if u["update_id"] >= offset or u["update_id"] in self._redelivering
            ]

    def _take(self, limit: int) -> list[JSONDict]:
        self.pending = [u for u in self.pending if update_type(u) in self._allowed]
        batch = self.pending[:limit]
        for update in batch:
            self._redelivering.discard(update["update_id"])
        return copy.deepcopy(batch)

    async def set_webhook(self, req: Request) -> bool:
        url = req.params.get("url")
        if not url:
            return await self.delete_webhook(req)
        self.webhook = dict(req.params)
        self._drop_pending(req)
        return True

    async def delete_webhook(self, req: Request) -> bool:
        self.webhook = None
        self._drop_pending(req)
        return True

    def _drop_pending(self, req: Request) -> None:
        if req.params.get("drop_pending_updates") in (True, "true", "True", 1):
            self.clear()

    async def get_webhook_info(self, req: Request) -> JSONDict:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotApi:
    """Loopback Telegram Bot API: start it, point PTB at ``base_url``/``file_url``, drive it.

    It answers the Bot API methods the bot uses the way Telegram does (the
    ``{"ok": true, "result": ...}`` envelope, realistic ``Message`` objects, the usual
    400/403/409/429 errors), records every call in ``calls``, and lets a test (or, through the
    ``/control/...`` endpoints, another process) inject updates.
    """

    def __init__(
        self,
        *,
        bot_username: str = "kaohe_bot",
        bot_first_name: str = "考核助手",
        strict_chats: bool = False,
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.calls: list[ApiCall] = []
        self.chats = Chats(strict=strict_chats)
        self.files = FileStore()
        self.updates = Updates()
        self._failures: dict[str, list[_Failure]] = {}
        self._call_signal = Signal()
        table = {**self.updates.table(), **BotMethods(self.chats, self.files).table()}
        self._methods = {name.lower(): (name, func) for name, func in table.items()}
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

    # ----- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError("FakeBotApi is already running")
        self.updates.closing = False
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        app.router.add_routes(control_routes(self))
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
        self.updates.closing = True
        self.updates.arrived.fire()
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

    # ----- inspection -----------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[ApiCall]:
        """Successful message-producing calls (send*/edit*), optionally filtered."""
        return [
            call
            for call in self.calls
            if call.outgoing
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
        found = self.chats.messages.get((chat_id, message_id))
        return copy.deepcopy(found) if found else None

    def last_message(self, chat_id: int, *, with_keyboard: bool = False) -> JSONDict | None:
        """Latest existing bot message in the chat (optionally: one with an inline keyboard)."""
        return self.chats.last_message(chat_id, with_keyboard=with_keyboard)

    def file_bytes(self, file_id: str) -> bytes:
        """Bytes stored for a file_id (uploaded by the bot or injected by a user)."""
        stored = self.files.get(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.data

    @property
    def webhook(self) -> JSONDict | None:
        """The setWebhook parameters while a webhook is set."""
        return self.updates.webhook

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is parked waiting for updates."""
        return self.updates.polling

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self.updates.pending)

    @property
    def poll_mark(self) -> int:
        """Take before starting a bot, for ``wait_until_polling(after=...)``."""
        return self.updates.poll_mark

    async def wait_until_polling(self, timeout: float = 5.0, *, after: int | None = None) -> None:
        """Wait until a getUpdates long poll is parked (the bot is idle and listening).

        With ``after`` (a ``poll_mark`` taken before a bot was started), only a poll made
        since counts: a stopped bot's poll still parked on the server does not answer for
        the bot starting now.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self.updates.parked.current()
            if self.updates.polling_after(after) if after is not None else self.polling:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"no getUpdates long poll within {timeout}s")
            await Signal.wait(event, deadline - loop.time())

    async def wait_for_all(
        self, predicate: CallPredicate | str, count: int, timeout: float = 5.0, *, since: int = 0
    ) -> list[ApiCall]:
        """The first ``count`` recorded calls (from index ``since``) matching; waits for them.

        ``predicate`` may be a method name. Raises TimeoutError after ``timeout`` seconds.
        """
        check = self._as_predicate(predicate)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        found: list[ApiCall] = []
        index = since
        while True:
            event = self._call_signal.current()
            for call in self.calls[index:]:
                if check(call):
                    found.append(call)
                    if len(found) == count:
                        return found
            index = max(index, len(self.calls))
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"{c.method}({c.chat_id})" for c in self.calls[-8:]]
                raise TimeoutError(
                    f"{len(found)} of {count} matching Bot API calls within {timeout}s; "
                    f"last: {recent}"
                )
            await Signal.wait(event, remaining)

    async def wait_for(
        self, predicate: CallPredicate | str, timeout: float = 5.0, *, since: int = 0
    ) -> ApiCall:
        """First recorded call (from index ``since``) matching; waits up to ``timeout`` seconds.

        ``predicate`` may be a method name. Pass ``since=len(api.calls)`` to ignore older calls.
        """
        [call] = await self.wait_for_all(predicate, 1, timeout, since=since)
        return call

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
                call.outgoing
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
        self.chats.blocked.add(chat_id)

    def reset(self) -> None:
        """Forget calls, pending updates, scripted failures, blocks and the webhook.

        Update and message ids keep counting up, so a polling bot is not confused.
        """
        self.calls.clear()
        self.updates.clear()
        self.updates.webhook = None
        self._failures.clear()
        self.chats.blocked.clear()

    # ----- injecting updates ----------------------------------------------------------------

    def inject_update(self, update: Mapping[str, Any]) -> JSONDict:
        """Queue an update for getUpdates; assigns ``update_id`` if missing. Returns it."""
        return self.updates.queue(update)

    def redeliver(self, update_id: int) -> JSONDict:
        """Put an (already confirmed) update back, as Telegram does after a crash."""
        return self.updates.redeliver(update_id)

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
        user = self.chats.remember_user(user_id, first_name, last_name, username)
        chat_id = user_id if chat_id is None else chat_id
        if chat_title is not None:
            self.chats.chat(chat_id)["title"] = chat_title
        content = self._user_content(text, photo, caption, document)
        replied = self.chats.messages.get((chat_id, reply_to)) if reply_to is not None else None
        if replied is not None:
            content["reply_to_message"] = copy.deepcopy(replied)
        message = self.chats.new_message(chat_id, user, content)
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
            stored = self.files.store("photo", photo, "photo.jpg", "image/jpeg")
            content["photo"] = [stored.photo_size()]
        if document is not None:
            name, data = document
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            content["document"] = self.files.store("document", data, name, mime).document()
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
        chat_id, message_id = message_ref(message)
        stored = self.chats.messages.get((chat_id, message_id))
        if stored is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        if button is not None:
            data = button_data(stored, button)
        user = self.chats.remember_user(user_id, first_name, None, username)
        query: JSONDict = {
            "id": self.chats.new_query_id(),
            "from": user,
            "message": copy.deepcopy(stored),
            "chat_instance": str((chat_id * 2_654_435_761) % (2**63)),
        }
        if data is not None:
            query["data"] = data
        return self.inject_update({"callback_query": query})

    # ----- HTTP -----------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        params, uploads = await read_params(request)
        status, body = await self.answer(
            request.match_info["method"], params, uploads, request.match_info["token"]
        )
        return json_response(body, status=status)

    async def answer(
        self, method: str, params: JSONDict, uploads: Mapping[str, Upload], token: str
    ) -> tuple[int, JSONDict]:
        """Answer one Bot API request as Telegram does and record it: (HTTP status, body).

        The HTTP route answers through this, and so does an in-process ``BaseRequest``
        (tests/offline.py) that hands PTB's requests over without a socket.
        """
        entry = self._methods.get(method.lower())
        canonical = entry[0] if entry else method
        call = ApiCall(
            method=canonical,
            params=params,
            files={name: up.data for name, up in uploads.items()},
            filenames={name: up.filename for name, up in uploads.items()},
            time=time.time(),
            token=token,
        )
        req = Request(canonical, params, dict(uploads), token, self._bot_user(token))
        try:
            self._scripted_failure(canonical)
            result = await entry[1](req) if entry else self._unknown_method(req)
        except ApiError as exc:
            self._record_error(call, exc)
            return exc.status, exc.envelope()
        call.result = copy.deepcopy(result)
        self._record(call)
        return 200, {"ok": True, "result": result}

    def _bot_user(self, token: str) -> JSONDict:
        bot_id = as_int(token.partition(":")[0]) or DEFAULT_BOT_ID
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _unknown_method(req: Request) -> bool:
        logger.info("fake Bot API: unhandled method %s answered True", req.method)
        return True

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._call_signal.fire()

    def _record_error(self, call: ApiCall, exc: ApiError) -> None:
        call.ok, call.status, call.error = False, exc.status, exc.description
        self._record(call)
        logger.debug("%s -> %s %s", call.method, exc.status, exc.description)

    def _scripted_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        raise failure.error()

    async def _handle_download(self, request: web.Request) -> web.Response:
        stored = self.files.at_path(request.match_info["path"])
        if stored is None:
            return json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.data, content_type="application/octet-stream")
