"""When Telegram refuses or fails a call: what each person then sees (in process).

The recording request answers as Telegram would: a blocked chat is 403 (Forbidden), a flood
limit 429 (RetryAfter), a server in trouble 5xx and a dead network raise NetworkError, a
refused message is 400 (BadRequest) with Telegram's description.
"""

from __future__ import annotations

import json
import logging

import pytest
from sqlmodel import Session, select

from fakes.telegram import ApiCall
from handlers.sending import ATTEMPTS
from scoring.models import Entry
from tests.offline import OfflineBureau

FENG = 1001  # 冯科员's Telegram user id (tests/harness.py)


def _deductions(b: OfflineBureau) -> int:
    with Session(b.svc.engine) as s:
        return len(s.exec(select(Entry).where(Entry.kind == "deduction")).all())


async def test_a_person_who_blocked_the_bot_is_still_charged_and_the_inspector_sees_it(
    bureau: OfflineBureau,
) -> None:
    bureau.api.block(FENG)
    card = await bureau.say("李督查", "冯科员 迟到")
    since = bureau.mark()
    done = await bureau.press("李督查", card, "确认")
    assert done.method == "editMessageText" and "已记录" in (done.text or "")
    refused = [c for c in bureau.since(since) if c.chat_id == FENG]
    assert [(c.method, c.status) for c in refused] == [("sendMessage", 403)]  # tried once
    assert _deductions(bureau) == 1 and bureau.texts_to("冯科员") == []


async def test_a_flood_limit_is_waited_out_and_the_notice_arrives_once(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    bureau.api.fail_next("sendMessage", status=429, retry_after=1)
    since = bureau.mark()
    await bureau.press("李督查", card, "确认")
    sends = [(c.method, c.status) for c in bureau.since(since) if c.chat_id == FENG]
    assert sends == [("sendMessage", 429), ("sendMessage", 200)]
    assert sum("扣分通知" in t for t in bureau.texts_to("冯科员")) == 1
    assert _deductions(bureau) == 1


async def test_a_notice_telegram_could_not_take_for_now_is_sent_again_from_a_button(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    bureau.request.cut("sendMessage", times=ATTEMPTS)  # the notice: every attempt lost
    since = bureau.mark()
    await bureau.press("李督查", card, "确认")
    assert bureau.texts_to("冯科员") == [] and _deductions(bureau) == 1
    [pending] = [c for c in bureau.since(since) if "暂未送达" in (c.text or "")]
    assert pending.chat_id == 1002 and "记录已保存" in (pending.text or "")
    await bureau.press("李督查", pending, "补发通知")  # later: told now
    assert sum("扣分通知" in t for t in bureau.texts_to("冯科员")) == 1
    await bureau.deliver(bureau.button("李督查", pending, data=_data(pending)))  # again
    assert sum("扣分通知" in t for t in bureau.texts_to("冯科员")) == 1  # only once
    assert _deductions(bureau) == 1


def _data(call: ApiCall) -> str:
    markup = call.params["reply_markup"]
    [[button]] = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    return str(button["callback_data"])


async def test_a_dropped_connection_is_retried_and_the_answer_arrives_once(
    bureau: OfflineBureau,
) -> None:
    bureau.request.cut("sendMessage")  # never reaches Telegram
    bureau.api.fail_next("sendMessage", status=502)  # reaches it, in trouble
    calls = await bureau.deliver(bureau.message("王五", "/reflection 学习心得:严格执法"))
    assert [(c.method, c.status) for c in calls] == [("sendMessage", 502), ("sendMessage", 200)]
    [answer] = bureau.texts_to("王五")
    assert "心得 1 / 2 篇" in answer


async def test_a_refused_answer_is_replaced_by_the_apology_never_a_traceback(
    bureau: OfflineBureau,
) -> None:
    refusal = "Bad Request: can't parse entities: unsupported start tag"
    bureau.api.fail_next("sendMessage", status=400, description=refusal)
    calls = await bureau.deliver(bureau.message("王五", "/score"))
    assert [(c.method, c.status) for c in calls] == [("sendMessage", 400), ("sendMessage", 200)]
    assert bureau.texts_to("王五") == ["抱歉,处理时出了点问题,已记录下来,请稍后再试。"]
    assert [str(e) for e in bureau.errors] == ["Can't parse entities: unsupported start tag"]
    bureau.errors.clear()  # the one crash this test caused, reported to the error handler


async def test_a_crash_after_the_press_was_answered_still_apologises_in_the_chat(
    bureau: OfflineBureau,
) -> None:
    card = await bureau.say("李督查", "冯科员 迟到")
    bureau.api.fail_next("editMessageText", status=400, description="Bad Request: no such tag")
    since = bureau.mark()
    await bureau.press("李督查", card, "确认")
    apology = [c for c in bureau.since(since) if c.method == "sendMessage" and c.chat_id == 1002]
    assert [c.text for c in apology] == ["抱歉,处理时出了点问题,已记录下来,请稍后再试。"]
    assert _deductions(bureau) == 1  # what was confirmed stays recorded
    bureau.errors.clear()  # the one crash this test caused, reported to the error handler


async def test_polling_with_the_network_down_logs_one_line_per_failure_never_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from telegram.error import NetworkError

    from bot.app import on_error

    context = cast(Any, SimpleNamespace(error=NetworkError("Connection refused"), bot_data={}))
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await on_error(None, context)
    assert [r.getMessage() for r in caplog.records] == [
        "cannot reach Telegram (NetworkError); PTB retries"
    ]
    assert "Traceback" not in caplog.text


async def test_an_overlong_finding_is_refused_with_a_sentence_and_nothing_is_recorded(
    bureau: OfflineBureau,
) -> None:
    text = "冯科员 迟到 " + "情况说明" * 1010  # about 4,050 characters
    answer = await bureau.say("李督查", text)
    assert "这条记录太长了" in (answer.text or "") and "500 字以内" in (answer.text or "")
    assert _deductions(bureau) == 0 and bureau.errors == []
