"""People in the chat: the one client the tests, the demo and the benchmark drive the bot with.

It writes to the bot through a FakeBotApi as named people (or bare user ids) and waits for
positive signs of what the bot did, never for a fixed time:

- ``say``/``press`` wait for the bot's first answer to that message or press;
- ``settle`` waits until the bot has handled everything sent before it. It sends a probe
  (``/help`` from a user no one else is) and waits for the probe's answer: the bot handles
  updates one at a time, in order (PTB's default, which ``require_sequential`` checks), so
  that answer comes only after every earlier update's handler has finished, with all it sent;
- ``answers`` waits for a number of answers (the benchmark's thousands).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram.ext import Application

from fakes.telegram.server import FakeBotApi
from fakes.telegram.wire import ApiCall, JSONDict

PROBE_USER = 7_000_000  # a Telegram user id no test, demo or benchmark person has
PROBE_TEXT = "/help"  # open to anyone, bound or not, and answered whatever else is going on


def answers_query(call: ApiCall, query_id: str) -> bool:
    """The bot answered the button press ``query_id`` with a text (a toast or an alert)."""
    return (
        call.ok
        and call.method == "answerCallbackQuery"
        and str(call.params.get("callback_query_id")) == query_id
        and bool(call.params.get("text"))
    )


def require_sequential(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """``ChatClient.settle`` proves nothing if the bot handles updates concurrently."""
    if app.update_processor.max_concurrent_updates != 1:
        raise RuntimeError(
            "the bot handles updates concurrently; ChatClient.settle() relies on one at a time"
        )


class ChatClient:
    """Named people writing to the bot through ``api``, and what the bot answers them."""

    def __init__(
        self,
        api: FakeBotApi,
        users: Mapping[str, int] | None = None,
        *,
        timeout: float = 10.0,
        probe_user: int = PROBE_USER,
        probe_text: str = PROBE_TEXT,
    ) -> None:
        self.api = api
        self.users = dict(users or {})
        self.timeout = timeout
        self.probe_user = probe_user
        self.probe_text = probe_text

    def uid(self, who: str | int) -> int:
        """The Telegram user id of a person named in ``users`` (an id stays as it is)."""
        return self.users[who] if isinstance(who, str) else who

    def mark(self) -> int:
        """Where the record of calls stands now (pass to ``since``/``after``/``answers``)."""
        return len(self.api.calls)

    # ----- acting without waiting -----------------------------------------------------------

    def send(self, who: str | int, text: str | None = None, **kwargs: Any) -> JSONDict:
        """``who`` sends a message (keywords as ``FakeBotApi.inject_message``); the update."""
        return self.api.inject_message(self.uid(who), text, **kwargs)

    def tap(
        self, who: str | int, message: object, button: str | None = None, *, data: str | None = None
    ) -> JSONDict:
        """``who`` presses the button labelled ``button`` (or with callback ``data``)."""
        return self.api.inject_callback(self.uid(who), message, data, button=button)

    # ----- acting and waiting for the answer ------------------------------------------------

    async def say(self, who: str | int, text: str | None = None, **kwargs: Any) -> ApiCall:
        """``who`` sends a message; returns the bot's first answer in that chat."""
        uid, mark = self.uid(who), self.mark()
        self.send(uid, text, **kwargs)
        return await self.api.wait_for_message(uid, since=mark, timeout=self.timeout)

    async def press(
        self, who: str | int, message: object, button: str | None = None, *, data: str | None = None
    ) -> ApiCall:
        """``who`` presses a button; returns the bot's first visible reaction to that press."""
        mark = self.mark()
        return await self.reaction(self.tap(who, message, button, data=data), since=mark)

    async def reaction(self, press: JSONDict, *, since: int = 0) -> ApiCall:
        """The first visible reaction to a press (an update ``tap`` returned): the alert it
        was answered with, or a new or edited message in the chat it was pressed in."""
        query = press["callback_query"]
        chat_id = query["message"]["chat"]["id"]

        def reacts(call: ApiCall) -> bool:
            return answers_query(call, query["id"]) or (call.outgoing and call.chat_id == chat_id)

        return await self.api.wait_for(reacts, self.timeout, since=since)

    async def alert(self, press: JSONDict) -> ApiCall:
        """The text a press (an update ``tap`` returned) was answered with."""
        query_id = press["callback_query"]["id"]
        return await self.api.wait_for(lambda call: answers_query(call, query_id), self.timeout)

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until the bot has handled everything sent so far (see the module's docstring)."""
        mark = self.mark()
        self.api.inject_message(self.probe_user, self.probe_text)
        await self.api.wait_for_message(
            self.probe_user, since=mark, timeout=timeout or self.timeout
        )

    def since(self, mark: int) -> list[ApiCall]:
        """The calls made from ``mark`` on, the probes' exchanges left out."""
        return [call for call in self.api.calls[mark:] if call.chat_id != self.probe_user]

    async def after(self, mark: int) -> list[ApiCall]:
        """Everything the bot did from ``mark`` on, once it has handled all sent so far."""
        await self.settle()
        return self.since(mark)

    async def answers(
        self, count: int, *, since: int, method: str = "sendMessage", timeout: float
    ) -> list[ApiCall]:
        """The first ``count`` successful ``method`` calls from ``since`` on; waits for them."""
        return await self.api.wait_for_all(
            lambda call: call.ok and call.method == method, count, timeout, since=since
        )

    def texts_to(self, who: str | int) -> list[str]:
        """Every message text (or caption) the bot sent to a person's private chat."""
        return self.api.messages_to(self.uid(who))
