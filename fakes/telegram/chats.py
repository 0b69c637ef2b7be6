"""The fake's world: users, chats, the messages in them, and button presses awaiting an answer."""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Mapping
from typing import Any

from fakes.telegram.wire import ApiCall, ApiError, JSONDict, as_int


class Chats:
    """Users and chats as Telegram knows them, and every message, by (chat id, message id)."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict  # an unknown chat_id is "chat not found", as for a real bot
        self.users: dict[int, JSONDict] = {}
        self.chats: dict[int, JSONDict] = {}
        self.messages: dict[tuple[int, int], JSONDict] = {}
        self.blocked: set[int] = set()
        self.open_queries: set[str] = set()
        self._message_ids: dict[int, int] = {}
        self._query_seq = itertools.count(1)

    def remember_user(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """The user (created on first sight, names updated when given) and their private chat."""
        user = self.users.setdefault(
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
            private = self.chat(user_id)
            for key in ("first_name", "last_name", "username"):
                if key in user:
                    private[key] = user[key]
        return copy.deepcopy(user)

    def chat(self, chat_id: int) -> JSONDict:
        """The chat (created on first sight: private for a positive id, else a group)."""
        if chat_id not in self.chats:
            if chat_id > 0:
                chat: JSONDict = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            else:
                kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
                chat = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
            self.chats[chat_id] = chat
        return self.chats[chat_id]

    def new_message(self, chat_id: int, sender: JSONDict, content: JSONDict) -> JSONDict:
        """Store a new message in the chat, with the chat's next message id."""
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        message: JSONDict = {
            "message_id": message_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(self.chat(chat_id)),
            "date": int(time.time()),
            **content,
        }
        self.messages[(chat_id, message_id)] = message
        return message

    def new_query_id(self) -> str:
        """An id for a button press, open until the bot answers it."""
        query_id = str(4_000_000_000_000_000 + next(self._query_seq))
        self.open_queries.add(query_id)
        return query_id

    def last_message(self, chat_id: int, *, with_keyboard: bool = False) -> JSONDict | None:
        """Latest existing bot message in the chat (optionally: one with an inline keyboard)."""
        for (cid, _mid), msg in sorted(self.messages.items(), reverse=True):
            if cid != chat_id or not msg.get("from", {}).get("is_bot"):
                continue
            if not with_keyboard or msg.get("reply_markup"):
                return copy.deepcopy(msg)
        return None

    def target_chat(self, params: JSONDict) -> int:
        """The chat_id a method addresses (400 when missing, or unknown in strict mode)."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = as_int(raw)
        if chat_id is None or (self.strict and chat_id not in self.chats):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def sendable_chat(self, params: JSONDict) -> int:
        """The chat_id a send addresses; 403 if that user blocked the bot."""
        chat_id = self.target_chat(params)
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id


def message_ref(message: object) -> tuple[int, int]:
    """(chat id, message id) of a message given as a dict, an ApiCall, a PTB Message or a pair."""
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


def button_data(message: Mapping[str, Any], label: str) -> str:
    """The callback data of the inline button labelled ``label`` under a message."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    for row in rows:
        for btn in row:
            if btn.get("text") == label and "callback_data" in btn:
                return str(btn["callback_data"])
    raise LookupError(f"no callback button labelled {label!r} in message")
