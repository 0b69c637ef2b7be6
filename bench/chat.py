"""District scale in the chat: 100 bound people send /score at once to `kaohe run` on the
district data set, through the loopback Bot API server; then the bot's peak memory (its own
high-water mark of resident memory, see ``bench.bot._peak_kb``).

The bot starts, answers a probe (so its start-up is outside the timer), and the 100 /score
arrive together; nothing is computed beforehand, so the first answer pays for the year's
standings. The people are the 100 bound people with the most entries (the first has the
most of the data set), the worst case for a reply's length.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Iterator

from bench.bot import KAOHE_RUN, kaohe_env, start_bot
from bench.data import Dataset
from bench.registry import Context, Result, register
from fakes.telegram import ChatClient, FakeBotApi
from fakes.telegram.wire import ApiCall

ASKERS = 100
GOAL_SECONDS = 2.0  # every answer within 2 s of the question, none failed
GOAL_MB = 150  # the bot's peak memory at district scale
SCORE_MARK = "年得分"  # in every /score answer (templates/score.html.j2)


def askers(ds: Dataset, n: int) -> list[tuple[int, int]]:
    """(Telegram user id, entries) of the n bound people in post with the most entries."""
    with sqlite3.connect(ds.path) as conn:
        rows = conn.execute(
            "SELECT p.telegram_user_id, COUNT(e.id) AS n FROM person p"
            " JOIN entry e ON e.person_id = p.id AND e.kind IN ('deduction', 'bonus')"
            " WHERE p.active AND p.telegram_user_id IS NOT NULL"
            " GROUP BY p.id ORDER BY n DESC, p.id LIMIT ?",
            (n,),
        ).fetchall()
    return [(int(uid), int(count)) for uid, count in rows]


async def _first_answers(
    api: FakeBotApi, chats: set[int], since: int, timeout: float
) -> dict[int, ApiCall]:
    """The bot's first message to each chat (calls from ``since``), as long as they come."""
    found: dict[int, ApiCall] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def new_answer(call: ApiCall) -> bool:
        return call.chat_id in chats and call.chat_id not in found and call.outgoing

    index = since
    while len(found) < len(chats) and loop.time() < deadline:
        try:
            call = await api.wait_for(new_answer, deadline - loop.time(), since=index)
        except TimeoutError:
            break
        assert isinstance(call.chat_id, int)
        found[call.chat_id] = call
        index = api.calls.index(call) + 1
    return found


def _failed_calls(api: FakeBotApi, chats: set[int], since: int) -> int:
    """Bot API calls to those chats that Telegram refused (a message too long, ...)."""
    return sum(1 for c in api.calls[since:] if c.chat_id in chats and not c.ok)


async def _burst(ds: Dataset, timeout: float) -> tuple[Result, Result]:
    people = askers(ds, ASKERS)
    chats = {uid for uid, _ in people}
    async with FakeBotApi() as api:
        bot = await start_bot(api, KAOHE_RUN, kaohe_env(api, ds.url))
        chat = ChatClient(api)
        try:
            try:
                await chat.settle(timeout=120)  # the bot answers: started, connected, listening
            except TimeoutError:
                raise RuntimeError(f"the bot did not answer a probe:\n{bot.stop()}") from None
            since = chat.mark()
            asked = time.time()
            for uid, _ in people:
                chat.send(uid, "/score")
            first = await _first_answers(api, chats, since, timeout)
            refused = _failed_calls(api, chats, since)
        finally:
            log = bot.stop()
    answered = [c for c in first.values() if c.ok and SCORE_MARK in (c.text or "")]
    seconds = sorted(c.time - asked for c in answered)
    failed = ASKERS - len(answered)
    if failed and not answered:
        raise RuntimeError(f"no /score was answered:\n{log}")
    last = seconds[-1] if seconds else float("inf")
    burst: Result = {
        "bench": "score_burst",
        "people": ASKERS,
        "first_seconds": round(seconds[0], 3) if seconds else None,
        "p50_seconds": round(statistics.median(seconds), 3) if seconds else None,
        "p99_seconds": round(seconds[min(len(seconds) - 1, int(0.99 * ASKERS))], 3)
        if seconds
        else None,
        "last_seconds": round(last, 3),
        "failed": failed,
        "refused_calls": refused,
        "most_entries": people[0][1] if people else 0,
        "ok": failed == 0 and last <= GOAL_SECONDS,
        "standings_people": ds.spec.people,
        "entries": ds.counts.get("entry", 0),
    }
    memory: Result = {
        "bench": "bot_peak_memory",
        "megabytes": round(bot.maxrss_kb / 1024, 1),
        "ok": bot.maxrss_kb / 1024 < GOAL_MB,
        "after": "start-up, a probe and the score burst at district scale (VmHWM)",
    }
    return burst, memory


@register("chat")
def chat_bench(ctx: Context) -> Iterator[Result]:
    """score_burst and the bot's peak memory, on the district data set."""
    ds = ctx.dataset
    ctx.log(f"chat: {ASKERS} people send /score at once to `kaohe run` on the data set")
    burst, memory = asyncio.run(_burst(ds, timeout=300))
    yield burst
    yield memory
