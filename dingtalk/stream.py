"""Receiving from DingTalk in Stream mode, through the official SDK ``dingtalk-stream``.

The SDK (0.24.3, read in its source: ``dingtalk_stream/stream.py``, ``chatbot.py``,
``handlers.py``, ``frames.py``) opens the connection (``POST /v1.0/gateway/connections/open``
with clientId, clientSecret, subscriptions and ua → ``{endpoint, ticket}``), keeps the websocket,
routes each CALLBACK frame of topic ``/v1.0/im/bot/messages/get`` to a ``ChatbotHandler`` and
sends the ACK (``{code: 200, headers: {messageId}, data}``) only after the handler returned. When
the handler raises, no ACK goes out and DingTalk pushes the frame again later.

Three things about that SDK shape how it runs here:

- Its endpoint is read when it is first imported (``DINGTALK_OPENAPI_ENDPOINT`` from the
  environment) and the open-connection call reads the class attribute
  ``DingTalkStreamClient.OPEN_CONNECTION_API`` through the class's own name, so a subclass
  cannot change it. :func:`point_sdk_at` sets it, and the module-level copies, from our setting.
- ``start()`` loops forever (reconnecting after 3–10 s), has no ``stop()``, swallows the first
  cancellation, and opens each connection with a blocking ``requests.post`` without a timeout.
  So the SDK runs in a thread of its own with its own event loop, where a slow gateway can
  block nobody but itself; :class:`DingTalkStream` starts and stops that thread.
- Each message is handed to the caller's coroutine *in the caller's event loop* (the bot's,
  where the database and the other messengers live) and the SDK thread waits for it: the ACK
  goes out once the coroutine returned, and an exception leaves the frame unacknowledged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import importlib
import logging
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from dingtalk_stream import (
    AckMessage,
    CallbackMessage,
    ChatbotHandler,
    ChatbotMessage,
    Credential,
    DingTalkStreamClient,
)
from pydantic import SecretStr

logger = logging.getLogger(__name__)
sdk_logger = logging.getLogger("dingtalk.sdk")
# What the SDK logs once we stop it (the cancelled connection, frames refused while stopping)
# is expected: it goes to a logger that only passes CRITICAL.
sdk_stopping_logger = logging.getLogger("dingtalk.sdk.stopping")
sdk_stopping_logger.setLevel(logging.CRITICAL)

OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"
# The SDK's modules that copied DINGTALK_OPENAPI_ENDPOINT at import time.
_SDK_ENDPOINT_MODULES = (
    "dingtalk_stream.utils",
    "dingtalk_stream.stream",
    "dingtalk_stream.chatbot",
    "dingtalk_stream.card_replier",
)


def point_sdk_at(openapi_url: str) -> None:
    """Make the SDK open its connection (and call any OpenAPI of its own) at ``openapi_url``.

    Process-wide: the SDK keeps its endpoint in a class attribute and module globals.
    """
    url = openapi_url.rstrip("/")
    if not hasattr(DingTalkStreamClient, "OPEN_CONNECTION_API"):
        raise RuntimeError("dingtalk-stream changed: DingTalkStreamClient.OPEN_CONNECTION_API")
    for name in _SDK_ENDPOINT_MODULES:
        module = importlib.import_module(name)
        if not hasattr(module, "DINGTALK_OPENAPI_ENDPOINT"):
            raise RuntimeError(f"dingtalk-stream changed: {name}.DINGTALK_OPENAPI_ENDPOINT")
        setattr(module, "DINGTALK_OPENAPI_ENDPOINT", url)  # noqa: B010
    DingTalkStreamClient.OPEN_CONNECTION_API = url + OPEN_CONNECTION_PATH


class Conversation(enum.StrEnum):
    """Where a message was written: the 1:1 chat with the robot, or a group."""

    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True)
class Incoming:
    """One message someone sent to the robot, in no messenger's terms but DingTalk's ids.

    ``message_id`` is DingTalk's msgId: the same when DingTalk pushes the message again.
    ``sender_id`` is the sender's userId (senderStaffId, what 1:1 sends address; empty for
    someone outside the organisation). ``text`` is the text, or the text parts of a picture
    with text (richText) one per line; ``pictures`` the download codes of its pictures;
    ``file`` the download code and the name of a file sent (msgtype file), else empty.
    ``kind`` is DingTalk's msgtype (text, picture, richText, audio, file, video …).
    """

    message_id: str
    sender_id: str
    sender_nick: str
    conversation: Conversation
    conversation_id: str
    text: str
    pictures: tuple[str, ...] = ()
    at_robot: bool = False
    kind: str = "text"
    file: tuple[str, str] = ("", "")

    @property
    def picture(self) -> str | None:
        """The download code of the (first) picture, if the message has one."""
        return self.pictures[0] if self.pictures else None


def incoming_from(data: Mapping[str, Any]) -> Incoming:
    """The Incoming for the data of a robot-message callback (parsed by the SDK's own class)."""
    message = ChatbotMessage.from_dict(dict(data))
    if not message.message_id or not message.conversation_id:
        raise ValueError("not a robot message: no msgId or conversationId")
    texts = [part.strip() for part in message.get_text_list() or [] if part and part.strip()]
    return Incoming(
        message_id=str(message.message_id),
        sender_id=str(message.sender_staff_id or ""),
        sender_nick=str(message.sender_nick or ""),
        conversation=Conversation.GROUP
        if message.conversation_type == "2"
        else Conversation.PRIVATE,
        conversation_id=str(message.conversation_id),
        text="\n".join(texts),
        pictures=tuple(code for code in message.get_image_list() or [] if code),
        at_robot=bool(message.is_in_at_list),
        kind=str(message.message_type or ""),
        file=_file_of(message),
    )


def _file_of(message: ChatbotMessage) -> tuple[str, str]:
    """(downloadCode, fileName) of a file message; the SDK keeps its content unparsed."""
    content = message.extensions.get("content") if message.message_type == "file" else None
    if not isinstance(content, Mapping):
        return "", ""
    return str(content.get("downloadCode") or ""), str(content.get("fileName") or "")


OnMessage = Callable[[Incoming], Coroutine[Any, Any, None]]


class StreamStopping(RuntimeError):
    """The stream is stopping: the message is left for DingTalk to push again."""


class _RobotMessages(ChatbotHandler):
    """The SDK handler for robot messages: the ACK waits for ``deliver``."""

    def __init__(self, deliver: OnMessage) -> None:
        super().__init__()
        self._deliver = deliver

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        try:
            incoming = incoming_from(callback.data)
        except (ValueError, KeyError, TypeError):
            logger.exception("DingTalk frame %s dropped", callback.headers.message_id)
            return AckMessage.STATUS_OK, "ignored"
        await self._deliver(incoming)
        return AckMessage.STATUS_OK, "OK"


class _Client(DingTalkStreamClient):
    """The SDK's client, counting the frames it is still handling (so a stop can wait)."""

    def __init__(self, credential: Credential) -> None:
        super().__init__(credential, logger=sdk_logger)
        self.busy = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def background_task(self, json_message: dict[str, Any]) -> None:
        self.busy += 1
        self.idle.clear()
        try:
            await super().background_task(json_message)
        finally:
            self.busy -= 1
            if not self.busy:
                self.idle.set()


class _HideTicket(logging.Filter):
    """The SDK logs the open-connection answer; its ticket is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        # logging keeps a lone mapping argument as the args themselves.
        if isinstance(record.args, dict) and "ticket" in record.args:
            record.args = {k: v for k, v in record.args.items() if k != "ticket"}
        return True


sdk_logger.addFilter(_HideTicket())


class DingTalkStream:
    """The robot's Stream connection, run beside the caller's event loop.

    ``await start()`` in the bot's loop, ``await stop()`` before that loop ends. Each robot
    message is awaited as ``on_message(incoming)`` in that loop; DingTalk gets the ACK once it
    returned. ``stop`` lets messages being handled finish (up to ``grace`` seconds), leaves
    the rest unacknowledged for DingTalk to push again, and ends the SDK's thread.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: SecretStr | str,
        openapi_url: str,
        on_message: OnMessage,
        grace: float = 10.0,
    ) -> None:
        secret = (
            client_secret if isinstance(client_secret, str) else client_secret.get_secret_value()
        )
        self._credential = Credential(client_id, secret)
        self._openapi_url = openapi_url
        self._on_message = on_message
        self._grace = grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sdk_loop: asyncio.AbstractEventLoop | None = None
        self._halt: asyncio.Event | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """The SDK's thread is up (connected or reconnecting)."""
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> None:
        """Start the SDK's client in its own thread; returns once it runs (not yet connected)."""
        if self._thread is not None:
            raise RuntimeError("DingTalkStream already started")
        point_sdk_at(self._openapi_url)
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="dingtalk-stream", daemon=True
        )
        self._thread.start()
        await asyncio.wrap_future(started)
        logger.info("DingTalk stream started")

    async def stop(self) -> None:
        """Stop receiving: finish what is being handled, then end the SDK's thread."""
        thread, sdk_loop, halt = self._thread, self._sdk_loop, self._halt
        if thread is None:
            return
        self._stopping = True
        if sdk_loop is not None and halt is not None and not sdk_loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                sdk_loop.call_soon_threadsafe(halt.set)
        await asyncio.to_thread(thread.join, self._grace + 5.0)
        if thread.is_alive():
            logger.warning("DingTalk stream thread still busy after stop; left as a daemon")
        self._thread = None
        logger.info("DingTalk stream stopped")

    async def _deliver(self, incoming: Incoming) -> None:
        """In the SDK's loop: run ``on_message`` in the caller's loop and wait for it."""
        if self._stopping or self._loop is None:
            logger.info("DingTalk message %s left for DingTalk to push again", incoming.message_id)
            raise StreamStopping(f"stopping; {incoming.message_id} left for DingTalk to push again")
        future = asyncio.run_coroutine_threadsafe(self._on_message(incoming), self._loop)
        try:
            await asyncio.wrap_future(future)
        except Exception:
            logger.exception(
                "DingTalk message %s not handled; left unacknowledged", incoming.message_id
            )
            raise

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._sdk_loop = loop
        try:
            loop.run_until_complete(self._supervise(started))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._sdk_loop = None

    async def _supervise(self, started: concurrent.futures.Future[None]) -> None:
        self._halt = asyncio.Event()
        client = _Client(self._credential)
        client.register_callback_handler(ChatbotMessage.TOPIC, _RobotMessages(self._deliver))
        runner = asyncio.create_task(client.start(), name="dingtalk-stream-sdk")
        started.set_result(None)
        halted = asyncio.create_task(self._halt.wait())
        await asyncio.wait({runner, halted}, return_when=asyncio.FIRST_COMPLETED)
        client.logger = sdk_stopping_logger
        try:
            await asyncio.wait_for(client.idle.wait(), self._grace)
        except TimeoutError:
            logger.warning("DingTalk stream stopping with %d messages unfinished", client.busy)
        # The SDK catches the first CancelledError (then sleeps before reconnecting): cancel
        # until its task is done, then whatever it left running (keepalive, handlers).
        for _ in range(100):
            if runner.done():
                break
            runner.cancel()
            await asyncio.wait({runner}, timeout=0.05)
        rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
