"""Receiving from DingTalk: the real dingtalk-stream SDK connected to the fake Stream gateway."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from dingtalk_stream import DingTalkStreamClient

from dingtalk.stream import Conversation, DingTalkStream, Incoming, incoming_from
from fakes.dingtalk import OPEN_PATH, FakeDingTalk

PNG = b"\x89PNG\r\n\x1a\n" + b"\x03" * 32


class Inbox:
    """The callback the stream is given: records each message; can fail or hold it."""

    def __init__(self) -> None:
        self.received: list[Incoming] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.failures = 0
        self.hold: asyncio.Event | None = None
        self.holding = asyncio.Event()
        self._arrived = asyncio.Queue[Incoming]()

    async def __call__(self, incoming: Incoming) -> None:
        self.loops.append(asyncio.get_running_loop())
        self.received.append(incoming)
        self._arrived.put_nowait(incoming)
        if self.hold is not None:
            self.holding.set()
            await self.hold.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database is locked")

    async def next(self, timeout: float = 10.0) -> Incoming:
        return await asyncio.wait_for(self._arrived.get(), timeout)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(ack_timeout=1.0) as server:
        yield server


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def make_stream(fake: FakeDingTalk, inbox: Inbox, secret: str | None = None) -> DingTalkStream:
    return DingTalkStream(
        client_id=fake.client_id,
        client_secret=secret or fake.client_secret,
        openapi_url=fake.openapi_url,
        on_message=inbox,
        grace=2.0,
    )


@pytest_asyncio.fixture
async def stream(fake: FakeDingTalk, inbox: Inbox) -> AsyncIterator[DingTalkStream]:
    running = make_stream(fake, inbox)
    await running.start()
    await fake.wait_connected()
    yield running
    await running.stop()


async def test_a_text_in_the_private_chat_reaches_the_callback_and_is_acknowledged(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    msg_id = fake.inject_text("zhangsan", "张三 迟到", nick="李督查")

    incoming = await inbox.next()
    assert incoming == Incoming(
        message_id=msg_id,
        sender_id="zhangsan",
        sender_nick="李督查",
        conversation=Conversation.PRIVATE,
        conversation_id="cid-private-zhangsan",
        text="张三 迟到",
        pictures=(),
        at_robot=True,
        kind="text",
    )
    await fake.wait_for_ack(msg_id)


async def test_the_callback_runs_in_the_callers_event_loop(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    fake.inject_text("zhangsan", "/score")
    await inbox.next()
    assert inbox.loops == [asyncio.get_running_loop()]


async def test_a_picture_alone_and_a_picture_with_text_carry_the_download_code(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    fake.inject_picture("lidu", PNG)
    alone = await inbox.next()
    fake.inject_picture("lidu", PNG, text="张三 迟到\n李四 早退")
    with_text = await inbox.next()

    assert (alone.kind, alone.text) == ("picture", "")
    assert (with_text.kind, with_text.text) == ("richText", "张三 迟到\n李四 早退")
    for incoming in (alone, with_text):
        assert incoming.picture is not None
        assert fake.state.files[incoming.picture] == PNG


async def test_a_group_message_says_whether_the_robot_was_mentioned(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    fake.inject_text("zhangsan", "/score", conversation="group", at=True)
    mentioned = await inbox.next()
    fake.inject_text("zhangsan", "午饭吃什么", conversation="group", at=False)
    chatter = await inbox.next()

    assert (mentioned.conversation, mentioned.conversation_id) == (
        Conversation.GROUP,
        fake.group_id,
    )
    assert (mentioned.at_robot, mentioned.text) == (True, "/score")
    assert (chatter.at_robot, chatter.text) == (False, "午饭吃什么")


async def test_a_message_whose_handling_failed_is_left_unacknowledged_and_pushed_again(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    inbox.failures = 1
    msg_id = fake.inject_text("zhangsan", "张三 迟到")

    first, second = await inbox.next(), await inbox.next()

    assert first == second and first.message_id == msg_id
    await fake.wait_for_ack(msg_id)
    await fake.settle()
    assert fake.deliveries(msg_id) == 2


async def test_an_acknowledged_message_is_not_pushed_again(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    msg_id = fake.inject_text("zhangsan", "确认 72")
    await fake.wait_for_ack(msg_id)

    await fake.settle()

    assert fake.deliveries(msg_id) == 1
    assert [i.message_id for i in inbox.received] == [msg_id]


async def test_a_message_dingtalk_pushes_again_arrives_with_the_same_message_id(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    msg_id = fake.inject_text("zhangsan", "确认 72")
    first = await inbox.next()
    await fake.wait_for_ack(msg_id)

    fake.redeliver(msg_id)

    assert await inbox.next() == first
    await fake.wait_for_ack(msg_id)


async def test_a_malformed_robot_message_is_acknowledged_and_dropped(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    broken = fake.inject("zhangsan", {"msgtype": "text"})  # no text body
    fake.inject_text("zhangsan", "after")

    assert (await inbox.next()).text == "after"
    await fake.wait_for_ack(broken)
    assert [i.text for i in inbox.received] == ["after"]


async def test_the_sdk_answers_a_ping_with_its_opaque_data(
    stream: DingTalkStream, fake: FakeDingTalk
) -> None:
    opaque, ack = await fake.ping()
    assert ack["code"] == 200
    assert json.loads(ack["data"]) == {"opaque": opaque}


async def test_after_a_disconnect_the_sdk_reconnects_and_messages_flow_again(
    stream: DingTalkStream, fake: FakeDingTalk, inbox: Inbox
) -> None:
    await fake.disconnect()
    await fake.wait_connected(count=2)

    msg_id = fake.inject_text("zhangsan", "张三 迟到")

    assert (await inbox.next()).message_id == msg_id
    assert len(fake.calls_to(OPEN_PATH)) == 2


async def test_the_connection_is_opened_at_our_endpoint_for_our_app_and_robot_messages(
    stream: DingTalkStream, fake: FakeDingTalk
) -> None:
    assert fake.openapi_url + OPEN_PATH == DingTalkStreamClient.OPEN_CONNECTION_API
    [opened] = fake.state.opened
    assert (opened["clientId"], opened["clientSecret"]) == (fake.client_id, fake.client_secret)
    assert opened["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]
    assert opened["ua"].startswith("dingtalk-sdk-python/v0.24.3")


async def test_stop_lets_the_message_in_hand_finish_and_acknowledges_it(
    fake: FakeDingTalk, inbox: Inbox
) -> None:
    running = make_stream(fake, inbox)
    await running.start()
    await fake.wait_connected()
    inbox.hold = asyncio.Event()
    msg_id = fake.inject_text("zhangsan", "确认 72")
    await asyncio.wait_for(inbox.holding.wait(), 10)

    stopping = asyncio.create_task(running.stop())
    inbox.hold.set()
    await asyncio.wait_for(stopping, 15)

    assert fake.acked(msg_id)
    assert not running.running
    await fake.wait_disconnected()


async def test_stop_ends_a_client_the_gateway_keeps_refusing(
    fake: FakeDingTalk, inbox: Inbox
) -> None:
    running = make_stream(fake, inbox, secret="not-the-secret")
    await running.start()
    await fake.changes.until(lambda: fake.calls_to(OPEN_PATH), 10, "an open-connection call")

    started = time.monotonic()
    await running.stop()

    assert not running.running
    assert time.monotonic() - started < 5
    assert fake.calls_to(OPEN_PATH)[0].status == 401


def test_an_unsupported_message_type_keeps_its_kind_with_no_text() -> None:
    incoming = incoming_from(
        {
            "msgId": "m1",
            "msgtype": "audio",
            "conversationId": "cid-1",
            "conversationType": "1",
            "senderStaffId": "zhangsan",
            "content": {"downloadCode": "dc-1", "recognition": "张三迟到"},
        }
    )
    assert (incoming.kind, incoming.text, incoming.pictures) == ("audio", "", ())
