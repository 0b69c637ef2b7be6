"""A short 民主评议 for the demo: a step taking (``Transcript``, ``Services``) like those of
the scripted day, for ``demo/__main__.py`` to play.

The leading group opens the vote; one person's ballot is shown (a rating pressed, then
changed), the rest of their colleagues are rated through the same buttons without being
printed, then 汇总 and 提交; the rest of the bound cast vote quietly; the leading group asks
for the turnout and closes the vote. In the demo's bureau five of forty vote, short of two
thirds, so the leading group confirms the count (where enough voted it counts at once): the
group sees the turnout and the distribution, each voter their own score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.services import Services
from fakes.telegram import ApiCall
from handlers.callbacks import data
from scoring import vote
from scoring.db import transaction
from scoring.models import Person, Vote
from usecases import review
from usecases.messages import Action

if TYPE_CHECKING:
    from demo.__main__ import Transcript

COMPETENT = 1  # 称职, the scale's second level


async def short_vote(t: Transcript, svc: Services, *, leader: str = "陈局",
                     voter: str = "冯科员") -> None:  # fmt: skip
    """/vote open → one ballot in the chat → /vote status → /vote close → 仍按已投选票计分."""
    opened = await t.say(leader, "/vote open")
    with transaction(svc.engine) as s:
        year = max(s.exec(select(Vote.year).where(Vote.state == vote.OPEN)).all())
    uid = t.users[voter]
    ballot = next(c for c in opened if c.chat_id == uid and "民主评议" in (c.text or ""))
    await t.press(voter, ballot, "优")  # the first colleague 优秀 …
    await t.press(voter, ballot, "称")  # … changed to 称职 before submitting
    await _rate_the_rest(t, svc, year, voter, ballot)
    await t.press(voter, ballot, "汇总 · 提交")
    await t.press(voter, ballot, "提交选票")
    with transaction(svc.engine) as s:
        _others_vote(s, svc, year, exclude=voter)
    await t.say(leader, "/vote status")
    closed = await t.say(leader, "/vote close")
    mine = [c for c in closed if c.chat_id == t.users[leader]]
    confirm = [c for c in mine if "参与人数不足" in (c.text or "")]
    if confirm:  # under two thirds: the leading group confirms the count
        await t.press(leader, confirm[0], "仍按已投选票计分")


def _person_id(session: Session, name: str) -> int:
    found = session.exec(select(Person.id).where(Person.name == name)).first()
    assert found is not None
    return found


async def _rate_the_rest(
    t: Transcript, svc: Services, year: int, who: str, ballot: ApiCall
) -> None:
    """Every colleague not rated yet 称职, through the ballot's own buttons, unprinted."""
    with transaction(svc.engine) as s:
        b = vote.ballot(s, svc.rules, year, _person_id(s, who), now=svc.now())
    mark = t.chat.mark()
    for n, (colleague, level) in enumerate(b.rows):
        if level is None:
            args = (str(year), str(colleague.id), str(COMPETENT), str(n // b.page_size))
            t.chat.tap(who, ballot, data=data(Action("", review.BALLOT_RATE, args)))
    await t.chat.after(mark)


def _others_vote(session: Session, svc: Services, year: int, *, exclude: str) -> None:
    """The rest of the bound cast vote 称职 for everyone, straight through the core."""
    bound = session.exec(
        select(Person.id, Person.name).where(col(Person.telegram_user_id).is_not(None))
    ).all()
    for pid, name in bound:
        if name == exclude or pid is None:
            continue
        for colleague, _ in vote.ballot(session, svc.rules, year, pid, now=svc.now()).rows:
            vote.rate(session, svc.rules, year, pid, colleague.id, COMPETENT, now=svc.now())
        vote.submit_ballot(session, svc.rules, year, pid, now=svc.now())
