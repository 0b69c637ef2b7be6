"""The year-end review: /vote, the ballot's buttons, /ballot, /leaderscore and /groupscore."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from handlers.callbacks import args_of, pattern
from handlers.common import Context, act, act_answered
from usecases import review


def _args(update: Update, verb: str) -> list[str]:
    """The arguments of the pressed action."""
    return args_of(update.callback_query.data if update.callback_query else None, verb)


def _numbers(update: Update, verb: str) -> list[int]:
    return [int(a) for a in _args(update, verb)]


async def on_vote(update: Update, context: Context) -> None:
    """/vote open 2026 [截止日期] | /vote close 2026 | /vote status [2026]."""
    await act(update, context, review.manage_vote, list(context.args or []))


async def on_count_button(update: Update, context: Context) -> None:
    """仍按已投选票计分: the leading group counts a vote that closed under the turnout."""
    (year,) = _numbers(update, review.VOTE_COUNT)
    await act_answered(update, context, review.confirm_count, year)


async def on_ballot(update: Update, context: Context) -> None:
    """/ballot [2026]: one's ballot again, in private."""
    await act(update, context, review.show_ballot, list(context.args or []))


async def on_page_button(update: Update, context: Context) -> None:
    """上一页 / 下一页 / 继续评议 / 返回修改: a page of one's ballot."""
    year, page = _numbers(update, review.BALLOT_PAGE)
    await act(update, context, review.turn_page, year, page)


async def on_rate_button(update: Update, context: Context) -> None:
    """A level pressed for a colleague: chosen or changed, the page shown again."""
    year, person_id, level, page = _numbers(update, review.BALLOT_RATE)
    await act(update, context, review.rate, year, person_id, level, page)


async def on_who_button(update: Update, context: Context) -> None:
    """A colleague's name pressed: who they are and their rating so far."""
    year, person_id = _numbers(update, review.BALLOT_WHO)
    await act(update, context, review.who, year, person_id)


async def on_summary_button(update: Update, context: Context) -> None:
    """汇总 · 提交: every rating of one's ballot, with 提交 once complete."""
    (year,) = _numbers(update, review.BALLOT_SUMMARY)
    await act(update, context, review.summary, year)


async def on_submit_button(update: Update, context: Context) -> None:
    """提交选票: the ballot is counted, anonymously, once."""
    (year,) = _numbers(update, review.BALLOT_SUBMIT)
    await act(update, context, review.submit, year)


async def on_leader_scores(update: Update, context: Context) -> None:
    """/leaderscore [年度] [姓名 分数 …]: a leader's 分管领导评分 sheet, or scores to check."""
    await act(update, context, review.score_sheet, "leader", list(context.args or []))


async def on_group_scores(update: Update, context: Context) -> None:
    """/groupscore [年度] [姓名 分数 …]: the leading group's 班子综合评议, likewise."""
    await act(update, context, review.score_sheet, "group", list(context.args or []))


async def on_scores_button(update: Update, context: Context) -> None:
    """确认提交 sends the draft scores; 放弃 forgets them."""
    send = bool(_args(update, review.SCORES_SEND))
    kind, year = _args(update, review.SCORES_SEND if send else review.SCORES_DROP)
    fn = review.send_scores if send else review.drop_scores
    await act_answered(update, context, fn, kind, int(year))


def build() -> list[BaseHandler]:
    """This module's handlers."""
    scores = r":(leader|group):\d{4}"
    return [
        CommandHandler("vote", on_vote),
        CommandHandler("ballot", on_ballot),
        CommandHandler("leaderscore", on_leader_scores),
        CommandHandler("groupscore", on_group_scores),
        CallbackQueryHandler(on_count_button, pattern=pattern(review.VOTE_COUNT)),
        CallbackQueryHandler(on_page_button, pattern=pattern(review.BALLOT_PAGE, r":\d+:\d+")),
        CallbackQueryHandler(
            on_rate_button, pattern=pattern(review.BALLOT_RATE, r":\d+:\d+:\d+:\d+")
        ),
        CallbackQueryHandler(on_who_button, pattern=pattern(review.BALLOT_WHO, r":\d+:\d+")),
        CallbackQueryHandler(on_summary_button, pattern=pattern(review.BALLOT_SUMMARY)),
        CallbackQueryHandler(on_submit_button, pattern=pattern(review.BALLOT_SUBMIT)),
        CallbackQueryHandler(on_scores_button, pattern=pattern(review.SCORES_SEND, scores)),
        CallbackQueryHandler(on_scores_button, pattern=pattern(review.SCORES_DROP, scores)),
    ]
