"""What DingTalk pushes over a Stream connection, built as DingTalk builds it.

Frame format (DingTalk's Stream protocol description,
https://open-dingtalk.github.io/developerpedia/docs/learn/stream/protocol, and the SDK's
``dingtalk_stream/frames.py``): ``{specVersion, type: SYSTEM|EVENT|CALLBACK, headers: {appId,
connectionId, contentType, messageId, time, topic}, data: "<JSON string>"}``. SYSTEM topics:
``ping`` (data ``{"opaque": …}``, echoed back in the ACK) and ``disconnect``.

Robot message data (DingTalk's "receive messages" page, open.dingtalk.com/document/orgapp/
receive-message, and the SDK's ``ChatbotMessage.from_dict`` in ``dingtalk_stream/chatbot.py``):
msgId, msgtype (text | picture | richText | file), text.content, content.downloadCode,
content.richText [{text} | {type: picture, downloadCode, pictureDownloadCode}], a file's
content {downloadCode, fileId, fileName, spaceId} (its name may come without the extension;
the SDK keeps a file's content unparsed, in its ``extensions``), senderStaffId,
senderId, senderNick, conversationType ("1" 1:1, "2" group), conversationId, conversationTitle,
isInAtList, atUsers, chatbotUserId, chatbotCorpId, senderCorpId, robotCode, createAt,
sessionWebhook, sessionWebhookExpiredTime, isAdmin.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from typing import Any

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
SESSION_LIFETIME_MS = 90 * 60 * 1000


@dataclass(frozen=True)
class Chat:
    """Where a pushed message was written, and who the robot is there."""

    conversation_type: str  # "1" 1:1, "2" group
    conversation_id: str
    title: str
    robot_code: str
    chatbot_user_id: str
    corp_id: str
    session_webhook: str


def robot_message(
    *,
    msg_id: str,
    staff_id: str,
    nick: str,
    chat: Chat,
    at: bool,
    content: dict[str, Any],
) -> dict[str, Any]:
    """The data of a robot-message callback; ``content`` holds msgtype and its body."""
    now_ms = int(time.time() * 1000)
    data: dict[str, Any] = {
        "conversationId": chat.conversation_id,
        "chatbotCorpId": chat.corp_id,
        "chatbotUserId": chat.chatbot_user_id,
        "msgId": msg_id,
        "senderNick": nick,
        "isAdmin": False,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": now_ms + SESSION_LIFETIME_MS,
        "createAt": now_ms,
        "senderCorpId": chat.corp_id,
        "conversationType": chat.conversation_type,
        "senderId": f"$:LWCP_v1:${staff_id}",
        "sessionWebhook": chat.session_webhook,
        "robotCode": chat.robot_code,
        "isInAtList": at,
        **content,
    }
    if chat.conversation_type == "2":
        data["conversationTitle"] = chat.title
        if at:
            data["atUsers"] = [{"dingtalkId": chat.chatbot_user_id}]
    return data


def text_content(text: str, *, group: bool) -> dict[str, Any]:
    """A text message; in a group DingTalk leaves a space where the @robot was cut out."""
    return {"msgtype": "text", "text": {"content": f" {text}" if group else text}}


def picture_content(download_code: str, text: str | None) -> dict[str, Any]:
    """A picture alone (msgtype picture), or with text (msgtype richText)."""
    picture = {"downloadCode": download_code, "pictureDownloadCode": download_code}
    if text is None:
        return {"msgtype": "picture", "content": picture}
    rich = [{"text": line} for line in text.splitlines() if line.strip()]
    return {"msgtype": "richText", "content": {"richText": [*rich, {"type": "picture", **picture}]}}


def file_content(download_code: str, file_name: str) -> dict[str, Any]:
    """A file sent to the robot (msgtype file)."""
    content = {
        "downloadCode": download_code,
        "fileId": str(zlib.crc32(download_code.encode())),
        "fileName": file_name,
        "spaceId": "28455378906",
    }
    return {"msgtype": "file", "content": content}


def frame(
    kind: str,
    topic: str,
    message_id: str,
    data: dict[str, Any],
    *,
    app_id: str,
    connection_id: str,
) -> dict[str, Any]:
    """A frame as the gateway sends it; ``data`` travels as a JSON string."""
    return {
        "specVersion": "1.0",
        "type": kind,
        "headers": {
            "appId": app_id,
            "connectionId": connection_id,
            "contentType": "application/json",
            "messageId": message_id,
            "time": str(int(time.time() * 1000)),
            "topic": topic,
        },
        "data": json.dumps(data, ensure_ascii=False),
    }
