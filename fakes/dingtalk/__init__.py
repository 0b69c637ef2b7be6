"""A loopback fake of 钉钉 (DingTalk) for one internal app and its robot, driven by the real
``dingtalk-stream`` SDK and by ``dingtalk.openapi``::

    async with FakeDingTalk(ack_timeout=0.5) as fake:
        stream = DingTalkStream(client_id=fake.client_id, client_secret=fake.client_secret,
                                openapi_url=fake.openapi_url, on_message=handle)
        await stream.start()
        await fake.wait_connected()
        msg_id = fake.inject_text("zhangsan", "张三 迟到")
        sent = await fake.wait_for_send("zhangsan", lambda s: "确认" in s.text)

One aiohttp server on 127.0.0.1 serves, at ``openapi_url``:

- the Stream gateway: ``POST /v1.0/gateway/connections/open`` (clientId, clientSecret,
  subscriptions, ua → ``{endpoint: ws://127.0.0.1:…/connect, ticket}``, the ticket good for one
  connection) and the websocket, which pushes CALLBACK frames of ``/v1.0/im/bot/messages/get``,
  reads the app's ACKs (``{code: 200, headers: {messageId}, …}``), pushes a frame not
  acknowledged within ``ack_timeout`` seconds again (and every unacknowledged frame on a new
  connection), and sends SYSTEM ``ping`` (:meth:`FakeDingTalk.ping`) and ``disconnect``;
- the OpenAPI: ``POST /v1.0/oauth2/accessToken``, ``/v1.0/robot/oToMessages/batchSend``,
  ``/v1.0/robot/groupMessages/send``, ``/v1.0/robot/messageFiles/download`` (and the download
  URL it answers), each checking the ``x-acs-dingtalk-access-token`` header and the robotCode;
  errors as ``{code, message, requestid}`` with an HTTP error status;

and at ``oapi_url`` (``…/oapi``) the older API's ``GET /gettoken`` and ``POST /media/upload``,
errors as HTTP 200 with ``errcode`` ≠ 0.

It records every HTTP call (``calls``), every message a recipient got (``sends``, image and
file messages with the uploaded media), every open-connection body (``state.opened``) and ACK
(``state.acks``); scripts failures (``fail_next(path, 429)``, ``hang_next``, ``flow_control``,
``expire_tokens``); injects messages (``inject_text``, ``inject_picture``, ``redeliver``); and
waits without fixed sleeps (``wait_connected``, ``wait_for_ack``, ``wait_for_send``, ``settle``).

Sources for the formats:
- the SDK's code, dingtalk-stream 0.24.3 (github.com/open-dingtalk/dingtalk-stream-sdk-python):
  ``dingtalk_stream/stream.py`` (open_connection's body and headers, the websocket URL
  ``{endpoint}?ticket=…``, routing by ``type`` and ``headers.topic``, the ACK sent after the
  handler), ``frames.py`` (Headers, CallbackMessage, SystemMessage, AckMessage.to_dict),
  ``handlers.py`` (the ACK's data: ``{"response": …}``, the SYSTEM ACK echoing the data),
  ``chatbot.py`` (ChatbotMessage.from_dict: the robot message's fields, picture and richText
  content; get_image_download_url: the download call's body);
- DingTalk's Stream protocol description,
  https://open-dingtalk.github.io/developerpedia/docs/learn/stream/protocol (the open call, the
  frame headers, ping with opaque data, disconnect);
- DingTalk's API pages (help.dingtalk.io/open/development/…, mirrors of open.dingtalk.com):
  chatbots-send-one-on-one-chat-messages-in-batches (batchSend, ≤ 20 userIds, msgParam a JSON
  string), the-robot-sends-a-group-message (groupMessages/send, openConversationId, msgParam
  ≤ 15,000 bytes), download-the-file-content-of-the-robot-receiving-message (downloadCode,
  robotCode → downloadUrl); open.dingtalk.com/document/orgapp/receive-message (the robot message
  fields); types-of-messages-sent-by-robots (sampleText, sampleMarkdown, sampleImageMsg photoURL,
  sampleFile mediaId/fileName/fileType), and the older API's gettoken and media/upload (types
  image/file, 20 MB, suffixes).
Where the pages name no error code, the fake's codes are its own (``invalidParameter.…``).
"""

from fakes.dingtalk.server import (
    DOWNLOAD_PATH,
    GROUP_SEND_PATH,
    OAPI_TOKEN_PATH,
    OAPI_UPLOAD_PATH,
    OPEN_PATH,
    TOKEN_PATH,
    USERS_SEND_PATH,
    Call,
    FakeDingTalk,
    Frame,
    Media,
    Sent,
)

__all__ = [
    "DOWNLOAD_PATH",
    "GROUP_SEND_PATH",
    "OAPI_TOKEN_PATH",
    "OAPI_UPLOAD_PATH",
    "OPEN_PATH",
    "TOKEN_PATH",
    "USERS_SEND_PATH",
    "Call",
    "FakeDingTalk",
    "Frame",
    "Media",
    "Sent",
]
