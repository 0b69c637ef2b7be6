"""DingTalk's OpenAPI (and the older oapi for media) through dingtalk.openapi, on the fake."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from dingtalk.openapi import DingTalkApi, DingTalkError, Group, Users
from fakes.clock import FakeClock
from fakes.dingtalk import (
    OAPI_TOKEN_PATH,
    OAPI_UPLOAD_PATH,
    TOKEN_PATH,
    USERS_SEND_PATH,
    FakeDingTalk,
)
from fakes.loopback import unused_port

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32
XLSX = b"PK\x03\x04" + b"\x02" * 64


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as server:
        for staff_id, nick in (("zhangsan", "张三"), ("lisi", "李四")):
            server.add_user(staff_id, nick)
        yield server


def make_api(
    fake: FakeDingTalk,
    clock: FakeClock,
    http: httpx.AsyncClient,
    *,
    secret: str | None = None,
    timeout: float = 2.0,
) -> DingTalkApi:
    return DingTalkApi(
        http=http,
        client_id=fake.client_id,
        client_secret=secret or fake.client_secret,
        robot_code=fake.robot_code,
        openapi_url=fake.openapi_url,
        oapi_url=fake.oapi_url,
        timeout=timeout,
        clock=clock,
    )


@pytest.fixture
def api(fake: FakeDingTalk, clock: FakeClock, http: httpx.AsyncClient) -> DingTalkApi:
    return make_api(fake, clock, http)


def add_staff(fake: FakeDingTalk, count: int) -> list[str]:
    """``count`` more people in the organisation; their staff ids."""
    staff = [f"u{i:02}" for i in range(count)]
    for person in staff:
        fake.add_user(person)
    return staff


async def test_a_markdown_message_reaches_each_person_with_its_title_and_text(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    await api.send_to_users(["zhangsan", "lisi"], "扣分通知", "**张三** 迟到 扣 0.5 分")

    for person in ("zhangsan", "lisi"):
        [sent] = fake.sends_to(person)
        assert (sent.msg_key, sent.title, sent.text) == (
            "sampleMarkdown",
            "扣分通知",
            "**张三** 迟到 扣 0.5 分",
        )


async def test_more_than_twenty_people_are_sent_in_batches_of_twenty(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    staff = add_staff(fake, 45)

    await api.send_text(Users(tuple(staff)), "季度公示已发布")

    assert sorted(s.to for s in fake.sends) == staff
    assert [len(c.body["userIds"]) for c in fake.calls_to(USERS_SEND_PATH)] == [20, 20, 5]


async def test_a_group_message_goes_to_the_group_by_its_open_conversation_id(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    await api.send_to_group(fake.group_id, "半年通报", "## 2026年上半年考核测算")

    [sent] = fake.sends_to(fake.group_id)
    assert sent.group and sent.title == "半年通报" and sent.text == "## 2026年上半年考核测算"


async def test_the_access_token_is_fetched_once_for_many_calls(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    for _ in range(3):
        await api.send_to_users(["zhangsan"], "t", "x")
    await api.send_to_group(fake.group_id, "t", "x")

    [token_call] = fake.calls_to(TOKEN_PATH)
    assert token_call.body == {"appKey": fake.client_id, "appSecret": fake.client_secret}
    assert len(fake.sends) == 4


async def test_the_access_token_is_renewed_before_it_expires(
    api: DingTalkApi, fake: FakeDingTalk, clock: FakeClock
) -> None:
    await api.send_to_users(["zhangsan"], "t", "x")
    clock.advance(fake.token_lifetime - 400)
    await api.send_to_users(["zhangsan"], "t", "x")
    assert len(fake.calls_to(TOKEN_PATH)) == 1

    clock.advance(200)  # less than five minutes left
    await api.send_to_users(["zhangsan"], "t", "x")
    assert len(fake.calls_to(TOKEN_PATH)) == 2


async def test_a_refused_token_is_replaced_and_the_call_goes_through(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    await api.send_to_users(["zhangsan"], "t", "first")
    fake.expire_tokens()

    await api.send_to_users(["zhangsan"], "t", "second")

    assert [s.text for s in fake.sends_to("zhangsan")] == ["first", "second"]
    assert len(fake.calls_to(TOKEN_PATH)) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_throttled_or_failing_send_is_retryable_and_the_retry_arrives_once(
    api: DingTalkApi, fake: FakeDingTalk, status: int
) -> None:
    fake.fail_next(USERS_SEND_PATH, status)

    with pytest.raises(DingTalkError) as caught:
        await api.send_to_users(["zhangsan"], "扣分通知", "张三 迟到")
    assert caught.value.retryable and caught.value.status == status
    assert caught.value.user_ids == ("zhangsan",)
    assert fake.sends == []

    await api.send_to_users(caught.value.user_ids, "扣分通知", "张三 迟到")
    assert len(fake.sends_to("zhangsan")) == 1


async def test_a_failed_second_batch_names_only_the_people_not_reached(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    staff = add_staff(fake, 25)
    fake.fail_next(USERS_SEND_PATH, 500, after=1)

    with pytest.raises(DingTalkError) as caught:
        await api.send_text(Users(tuple(staff)), "通知")

    assert caught.value.retryable and caught.value.user_ids == tuple(staff[20:])
    assert sorted(s.to for s in fake.sends) == staff[:20]


async def test_people_held_back_by_flow_control_are_retried_alone(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    fake.flow_control("lisi")

    with pytest.raises(DingTalkError) as caught:
        await api.send_to_users(["zhangsan", "lisi"], "t", "通知")
    assert caught.value.retryable and caught.value.user_ids == ("lisi",)

    await api.send_to_users(caught.value.user_ids, "t", "通知")
    assert [len(fake.sends_to(p)) for p in ("zhangsan", "lisi")] == [1, 1]


async def test_someone_dingtalk_does_not_know_is_final_and_the_others_get_it(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_users(["zhangsan", "ghost"], "t", "通知")
    assert not caught.value.retryable and caught.value.user_ids == ("ghost",)
    assert [s.to for s in fake.sends] == ["zhangsan"]


async def test_a_group_the_robot_is_not_in_is_final(api: DingTalkApi) -> None:
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_group("cid-nowhere", "t", "x")
    assert not caught.value.retryable and caught.value.status == 400


async def test_a_wrong_app_secret_is_final_and_never_in_the_error(
    fake: FakeDingTalk, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    api = make_api(fake, clock, http, secret="wrong-secret-123")
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_users(["zhangsan"], "t", "x")
    assert not caught.value.retryable
    assert "wrong-secret-123" not in str(caught.value)


async def test_a_call_that_never_answers_times_out_as_retryable(
    fake: FakeDingTalk, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    fake.hang_next(USERS_SEND_PATH)
    started = time.monotonic()
    with pytest.raises(DingTalkError) as caught:
        await make_api(fake, clock, http, timeout=0.3).send_to_users(["zhangsan"], "t", "x")
    assert caught.value.retryable
    assert time.monotonic() - started < 5


async def test_an_unreachable_dingtalk_is_retryable(
    clock: FakeClock, http: httpx.AsyncClient
) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    api = DingTalkApi(
        http=http, client_id="k", client_secret="s", robot_code="k", openapi_url=url, oapi_url=url
    )
    with pytest.raises(DingTalkError) as caught:
        await api.send_to_users(["zhangsan"], "t", "x")
    assert caught.value.retryable


async def test_a_download_code_gives_back_the_file_someone_sent(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    code = fake.store_file(PNG)
    assert await api.download(code) == PNG


async def test_an_unknown_download_code_is_final(api: DingTalkApi) -> None:
    with pytest.raises(DingTalkError) as caught:
        await api.download("dc-expired")
    assert not caught.value.retryable


async def test_an_image_is_uploaded_through_the_older_api_then_sent(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    await api.send_image(Group(fake.group_id), PNG, "2026H1.png")

    [sent] = fake.sends_to(fake.group_id)
    assert sent.msg_key == "sampleImageMsg"
    assert sent.media is not None and (sent.media.type, sent.media.data) == ("image", PNG)
    [token_call] = fake.calls_to(OAPI_TOKEN_PATH)
    assert token_call.query == {"appkey": fake.client_id, "appsecret": fake.client_secret}


async def test_a_file_is_sent_with_its_name_and_type(api: DingTalkApi, fake: FakeDingTalk) -> None:
    await api.send_file(Users(("zhangsan",)), XLSX, "2026H1考核通报.xlsx")

    [sent] = fake.sends_to("zhangsan")
    assert sent.msg_key == "sampleFile"
    assert (sent.param["fileName"], sent.param["fileType"]) == ("2026H1考核通报.xlsx", "xlsx")
    assert sent.media is not None and sent.media.data == XLSX


async def test_a_busy_media_upload_is_retryable_and_a_bad_file_type_is_final(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    fake.fail_next(OAPI_UPLOAD_PATH, errcode=-1)
    with pytest.raises(DingTalkError) as busy:
        await api.send_image(Group(fake.group_id), PNG)
    assert busy.value.retryable

    with pytest.raises(DingTalkError) as bad:
        await api.send_file(Group(fake.group_id), XLSX, "notes.exe")
    assert not bad.value.retryable
    assert fake.sends == []


async def test_an_expired_oapi_token_is_replaced_for_the_upload(
    api: DingTalkApi, fake: FakeDingTalk
) -> None:
    await api.send_image(Group(fake.group_id), PNG)
    fake.expire_tokens()

    await api.send_image(Group(fake.group_id), PNG)

    assert len(fake.sends_to(fake.group_id)) == 2
    assert len(fake.calls_to(OAPI_TOKEN_PATH)) == 2
