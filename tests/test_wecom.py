"""The WeCom group robot against a loopback webhook that checks WeCom's limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from fakes.clock import FakeClock
from fakes.loopback import unused_port
from fakes.wecom import FakeWeComWebhook
from wecom.robot import (
    MARKDOWN_LIMIT,
    TEXT_LIMIT,
    WeComError,
    WeComRobot,
    split_utf8,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def webhook(clock: FakeClock) -> AsyncIterator[FakeWeComWebhook]:
    async with FakeWeComWebhook(clock=clock) as fake:
        yield fake


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_robot(
    url: str, clock: FakeClock, http: httpx.AsyncClient, *, timeout: float = 2.0
) -> WeComRobot:
    return WeComRobot(url, http=http, timeout=timeout, clock=clock, sleep=clock.sleep)


@pytest.fixture
def robot(webhook: FakeWeComWebhook, clock: FakeClock, http: httpx.AsyncClient) -> WeComRobot:
    return make_robot(webhook.webhook_url, clock, http)


def bulletin(lines: int) -> str:
    return "\n".join(
        f"第{i}名 执法监察科 张三{i} 得分 **98.50** 较上季度上升" for i in range(lines)
    )


async def test_long_markdown_arrives_in_parts_of_at_most_4096_bytes_split_between_lines(
    robot: WeComRobot, webhook: FakeWeComWebhook
) -> None:
    text = bulletin(300)
    assert len(text.encode()) > 3 * MARKDOWN_LIMIT

    await robot.send_markdown(text)

    parts = [m.content for m in webhook.messages]
    assert len(parts) >= 4
    assert all(len(p.encode()) <= MARKDOWN_LIMIT for p in parts)
    assert "\n".join(parts) == text
    assert webhook.rejected == []


async def test_a_line_longer_than_the_text_limit_is_cut_between_characters(
    robot: WeComRobot, webhook: FakeWeComWebhook
) -> None:
    line = "考核" * 1500  # 9,000 bytes, no newline to split at

    await robot.send_text(line)

    parts = [m.content for m in webhook.messages]
    assert all(len(p.encode()) <= TEXT_LIMIT for p in parts)
    assert "".join(parts) == line
    assert webhook.rejected == []


async def test_a_short_text_is_one_message(robot: WeComRobot, webhook: FakeWeComWebhook) -> None:
    await robot.send_text("7月考勤抽查提醒")
    assert [(m.msgtype, m.content) for m in webhook.messages] == [("text", "7月考勤抽查提醒")]


def test_split_keeps_blank_lines_and_fits_exactly_at_the_limit() -> None:
    text = "a" * 10 + "\n\n" + "b" * 10
    assert split_utf8(text, 22) == [text]
    assert split_utf8(text, 21) == ["a" * 10 + "\n", "b" * 10]


async def test_twenty_five_messages_are_paced_to_twenty_a_minute_and_none_is_dropped(
    robot: WeComRobot, webhook: FakeWeComWebhook, clock: FakeClock
) -> None:
    for i in range(25):
        await robot.send_text(f"通知 {i}")

    assert [m.content for m in webhook.messages] == [f"通知 {i}" for i in range(25)]
    assert webhook.rejected == []
    assert webhook.messages[19].at == webhook.messages[0].at
    assert webhook.messages[20].at >= webhook.messages[0].at + 60


async def test_a_rate_limited_answer_waits_a_minute_and_the_message_still_arrives(
    robot: WeComRobot, webhook: FakeWeComWebhook, clock: FakeClock
) -> None:
    webhook.use_up_rate()  # someone else posted 20 messages with this robot just now

    await robot.send_markdown("**季度通报**")

    assert [errcode for _, errcode in webhook.rejected] == [45009]
    assert [m.content for m in webhook.messages] == ["**季度通报**"]
    assert 60 in clock.slept


async def test_a_robot_rate_limited_for_good_gives_up_with_a_retryable_error(
    webhook: FakeWeComWebhook, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    webhook.fail_next(45009, times=10)
    robot = WeComRobot(
        webhook.webhook_url, http=http, clock=clock, sleep=clock.sleep, rate_retries=2
    )
    with pytest.raises(WeComError) as caught:
        await robot.send_text("半年通报")
    assert caught.value.retryable and caught.value.errcode == 45009
    assert len(webhook.rejected) == 3 and webhook.messages == []


async def test_an_image_goes_as_base64_with_the_md5_of_its_bytes(
    robot: WeComRobot, webhook: FakeWeComWebhook
) -> None:
    await robot.send_image(PNG)
    assert [(m.msgtype, m.data) for m in webhook.messages] == [("image", PNG)]


async def test_an_image_over_two_megabytes_is_refused_before_anything_is_sent(
    robot: WeComRobot, webhook: FakeWeComWebhook
) -> None:
    with pytest.raises(WeComError) as caught:
        await robot.send_image(PNG + b"\x00" * (2 * 1024 * 1024))
    assert not caught.value.retryable
    assert webhook.messages == [] and webhook.rejected == []


async def test_a_file_is_uploaded_to_the_robot_then_posted(
    robot: WeComRobot, webhook: FakeWeComWebhook
) -> None:
    workbook = b"PK\x03\x04" + b"\x00" * 200

    await robot.send_file(workbook, "2026H1考核通报.xlsx")

    [message] = webhook.messages
    assert (message.msgtype, message.filename, message.data) == (
        "file",
        "2026H1考核通报.xlsx",
        workbook,
    )


async def test_a_wrong_key_is_final_and_the_key_is_not_in_the_error(
    webhook: FakeWeComWebhook, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    url = webhook.webhook_url.replace(webhook.key, "leaked-secret-key")
    with pytest.raises(WeComError) as caught:
        await make_robot(url, clock, http).send_text("提醒")
    assert not caught.value.retryable and caught.value.errcode == 93000
    assert "leaked-secret-key" not in str(caught.value)


async def test_a_webhook_that_never_answers_times_out_as_retryable(
    webhook: FakeWeComWebhook, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    webhook.hang_next()
    started = time.monotonic()
    with pytest.raises(WeComError) as caught:
        await make_robot(webhook.webhook_url, clock, http, timeout=0.3).send_text("提醒")
    assert caught.value.retryable
    assert time.monotonic() - started < 5


async def test_an_unreachable_webhook_is_retryable(
    clock: FakeClock, http: httpx.AsyncClient
) -> None:
    url = f"http://127.0.0.1:{unused_port()}/cgi-bin/webhook/send?key=k"
    with pytest.raises(WeComError) as caught:
        await make_robot(url, clock, http).send_text("提醒")
    assert caught.value.retryable
