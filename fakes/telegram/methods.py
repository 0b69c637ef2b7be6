"""The Bot API methods the bot uses, answered as Telegram does (getUpdates and the webhook
methods live with the update queue in server.py).

Each method takes the decoded Request and returns its ``result`` or raises ApiError with
Telegram's own description (400 not modified, 403 blocked, …).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fakes.telegram.chats import Chats
from fakes.telegram.formatting import parse_text, utf16_len
from fakes.telegram.media import MAX_DOWNLOAD, FileStore
from fakes.telegram.wire import ApiError, JSONDict, Request, as_int

logger = logging.getLogger(__name__)

Method = Callable[[Request], Awaitable[Any]]

MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class BotMethods:
    """Sending, editing and deleting messages, buttons, commands, chats and files."""

    def __init__(self, chats: Chats, files: FileStore) -> None:
        self.chats = chats
        self.files = files
        self._commands: dict[str, list[JSONDict]] = {}

    def table(self) -> dict[str, Method]:
        """Bot API method name → implementation."""
        return {
            "getMe": self.get_me,
            "logOut": self.true,
            "close": self.true,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getFile": self.get_file,
        }

    async def true(self, req: Request) -> bool:
        return True

    async def get_me(self, req: Request) -> JSONDict:
        return {
            **req.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # sending ---------------------------------------------------------------------------------

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
            legacy = as_int(params.get("reply_to_message_id"))
            reply = {"message_id": legacy} if legacy else None
        if not reply:
            return None
        target = self.chats.messages.get(
            (as_int(reply.get("chat_id")) or chat_id, as_int(reply.get("message_id")) or 0)
        )
        if target is None and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return copy.deepcopy(target) if target else None

    def _post_bot_message(self, req: Request, chat_id: int, content: JSONDict) -> JSONDict:
        markup = self._inline_markup(req.params)
        reply = self._reply_target(chat_id, req.params)
        if markup:
            content["reply_markup"] = markup
        if reply:
            content["reply_to_message"] = reply
        message = self.chats.new_message(chat_id, req.bot, content)
        logger.debug("bot -> %s #%s", chat_id, message["message_id"])
        return copy.deepcopy(message)

    async def send_message(self, req: Request) -> JSONDict:
        chat_id = self.chats.sendable_chat(req.params)
        return self._post_bot_message(req, chat_id, self._text_content(req.params))

    async def send_photo(self, req: Request) -> JSONDict:
        chat_id = self.chats.sendable_chat(req.params)
        caption = self._caption_content(req.params)
        stored = self.files.input_file(req, "photo", "image/jpeg")
        content = {"photo": [stored.photo_size()], **caption}
        return self._post_bot_message(req, chat_id, content)

    async def send_document(self, req: Request) -> JSONDict:
        chat_id = self.chats.sendable_chat(req.params)
        caption = self._caption_content(req.params)
        stored = self.files.input_file(req, "document", "application/octet-stream")
        content = {"document": stored.document(), **caption}
        return self._post_bot_message(req, chat_id, content)

    async def send_chat_action(self, req: Request) -> bool:
        self.chats.sendable_chat(req.params)
        if not req.params.get("action"):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    # editing ---------------------------------------------------------------------------------

    def _editable(self, req: Request, verb: str = "edit") -> tuple[int, int, JSONDict] | None:
        """The stored bot message addressed by chat_id+message_id (None for inline messages)."""
        if req.params.get("inline_message_id"):
            return None
        chat_id = self.chats.target_chat(req.params)
        message_id = as_int(req.params.get("message_id"))
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self.chats.messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        return chat_id, message_id, message

    def _apply_edit(
        self, req: Request, chat_id: int, message_id: int, changes: JSONDict
    ) -> JSONDict:
        old = self.chats.messages[(chat_id, message_id)]
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
        self.chats.messages[(chat_id, message_id)] = new
        return copy.deepcopy(new)

    async def edit_message_text(self, req: Request) -> JSONDict | bool:
        content = self._text_content(req.params)
        target = self._editable(req)
        if target is None:
            return True
        chat_id, message_id, message = target
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        content.setdefault("entities", None)
        return self._apply_edit(req, chat_id, message_id, content)

    async def edit_message_caption(self, req: Request) -> JSONDict | bool:
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

    async def edit_message_reply_markup(self, req: Request) -> JSONDict | bool:
        target = self._editable(req)
        if target is None:
            return True
        chat_id, message_id, _message = target
        return self._apply_edit(req, chat_id, message_id, {})

    async def delete_message(self, req: Request) -> bool:
        target = self._editable(req, verb="delete")
        if target is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        chat_id, message_id, _message = target
        del self.chats.messages[(chat_id, message_id)]
        return True

    async def answer_callback_query(self, req: Request) -> bool:
        query_id = str(req.params.get("callback_query_id") or "")
        if query_id not in self.chats.open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        self.chats.open_queries.discard(query_id)
        return True

    # commands, chats, files ------------------------------------------------------------------

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    async def set_my_commands(self, req: Request) -> bool:
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

    async def get_my_commands(self, req: Request) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._commands_key(req.params), []))

    async def delete_my_commands(self, req: Request) -> bool:
        self._commands.pop(self._commands_key(req.params), None)
        return True

    async def get_chat(self, req: Request) -> JSONDict:
        chat = copy.deepcopy(self.chats.chat(self.chats.target_chat(req.params)))
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

    async def get_chat_member(self, req: Request) -> JSONDict:
        self.chats.target_chat(req.params)
        user_id = as_int(req.params.get("user_id"))
        if user_id is None:
            raise ApiError(400, "Bad Request: PARTICIPANT_ID_INVALID")
        if user_id == req.bot["id"]:
            return {"status": "member", "user": req.bot}
        user = self.chats.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        return {"status": "member", "user": copy.deepcopy(user)}

    async def get_file(self, req: Request) -> JSONDict:
        stored = self.files.get(str(req.params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_file()
