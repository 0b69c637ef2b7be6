"""The year-end review in the chat: the 民主评议 vote, leaders' and the leading group's scores.

- ``/vote open 2026 [closing date]``, ``/vote close 2026``, ``/vote status 2026`` (the
  leading group). Opening sends every bound person on the roll a private ballot: the
  colleagues page by page with a button per level, a summary, and 提交. Submitting is
  final; until then any rating can be changed. ``/ballot`` shows one's ballot again.
- At close the group sees turnout and the distribution of all ratings; each person is told
  their own 述职 score. Under the minimum turnout the leading group is asked to confirm.
- ``/leaderscore [2026] 张三 4.5 …`` (a leader in charge, for their staff) and
  ``/groupscore [2026] 张三 4.5 …`` (the leading group, for everyone): typed scores go to a
  draft, shown with every person's score to check, then 确认提交 sends them.
- The vote's reminder and close are duties (``usecases.duties``), told as a close by hand.
"""

from __future__ import annotations

import re
from typing import cast

from sqlmodel import Session, select

from scoring import calendar, review, vote
from scoring.duties import calendar_tz
from scoring.errors import InputError
from scoring.models import Vote
from scoring.review import Kind
from scoring.rules import Rules
from scoring.vote import Ballot, Results
from usecases.core import Ctx, verb
from usecases.messages import DIRECT, EDIT, Action, Group, Out, Person, Result, Say, say

# the actions' verbs (the adapters spell them: handlers/callbacks.py)
BALLOT_PAGE, BALLOT_RATE, BALLOT_WHO = "ballot_page", "ballot_rate", "ballot_who"
BALLOT_SUMMARY, BALLOT_SUBMIT = "ballot_summary", "ballot_submit"
VOTE_COUNT = "vote_count"
SCORES_SEND, SCORES_DROP = "scores_send", "scores_drop"
KINDS: tuple[Kind, ...] = ("leader", "group")
AUTO_CLOSE = "截止时间到"  # who closed a vote at its closing time
GROUP_CHAT = Group()
_YEAR = re.compile(r"^\d{4}年?$")


def assessment_year(ctx: Ctx) -> int:
    """The year being assessed: this year from July, the year before until then."""
    today = ctx.now.date()
    return calendar.assessment_year(today.year, today.month)


def _year(ctx: Ctx, args: list[str]) -> tuple[int, list[str]]:
    """A year written first (2026 or 2026年), else the year being assessed; and the rest."""
    if args and _YEAR.match(args[0]):
        return int(args[0][:4]), args[1:]
    return assessment_year(ctx), args


# ------------------------------------------------------------------ the ballot
def ballot_page(b: Ballot, page: int) -> Say:
    """One page of a ballot: a row per colleague (name, then a button per level, the chosen
    one ticked), and the way to the other pages and the summary."""
    page = min(max(page, 0), b.pages - 1)
    year = str(b.year)
    rows: list[list[Action]] = []
    for person, chosen in b.page(page):
        row = [Action(person.name, BALLOT_WHO, (year, str(person.id)))]
        for i, level in enumerate(b.scale):
            label = f"✓{level.short}" if chosen == i else level.short
            row.append(Action(label, BALLOT_RATE, (year, str(person.id), str(i), str(page))))
        rows.append(row)
    nav: list[Action] = []
    if page > 0:
        nav.append(Action("◀ 上一页", BALLOT_PAGE, (year, str(page - 1))))
    if page < b.pages - 1:
        nav.append(Action("下一页 ▶", BALLOT_PAGE, (year, str(page + 1))))
    nav.append(Action("汇总 · 提交", BALLOT_SUMMARY, (year,)))
    return say("ballot_page.html.j2", *rows, nav, b=b, page=page, people=b.page(page))


def first_page(b: Ballot) -> Say:
    return ballot_page(b, b.first_unrated_page())


def _ballot(ctx: Ctx, year: int) -> Ballot:
    return vote.ballot(ctx.session, ctx.rules, year, ctx.me.person_id, now=ctx.now)


def _open_year(session: Session) -> int:
    years = session.exec(select(Vote.year).where(Vote.state == vote.OPEN)).all()
    if not years:
        raise InputError("目前没有进行中的民主评议")
    return max(years)


@verb("ballot")
def show_ballot(ctx: Ctx, args: list[str]) -> Result:
    """/ballot [2026]: one's ballot again, in private, at the first colleague not rated."""
    year = _year(ctx, args)[0] if args else _open_year(ctx.session)
    result = Result()
    if not ctx.event.private:
        result.reply(say("ballot_in_private.html.j2"))
    result.out.append(Out(first_page(_ballot(ctx, year)), DIRECT))
    return result


@verb("ballot")
def turn_page(ctx: Ctx, year: int, page: int) -> Result:
    """上一页 / 下一页 (or 继续评议 from the summary): that page of one's ballot."""
    return Result([Out(ballot_page(_ballot(ctx, year), page), EDIT)])


@verb("ballot")
def rate(ctx: Ctx, year: int, person_id: int, level: int, page: int) -> Result:
    """A level pressed for a colleague: chosen (or changed), the page shown again."""
    b = vote.rate(ctx.session, ctx.rules, year, ctx.me.person_id, person_id, level, now=ctx.now)
    return Result([Out(ballot_page(b, page), EDIT)])


@verb("ballot")
def who(ctx: Ctx, year: int, person_id: int) -> Result:
    """A colleague's name pressed: who they are and how they are rated so far."""
    b = _ballot(ctx, year)
    found = [(p, lv) for p, lv in b.rows if p.id == person_id]
    if not found:
        raise InputError("选票上没有这位同事")
    person, level = found[0]
    return Result(alert=say("ballot_who.html.j2", person=person, level=level, scale=b.scale))


@verb("ballot")
def summary(ctx: Ctx, year: int) -> Result:
    """汇总: every rating of one's ballot, the count per level, and 提交 once complete."""
    b = _ballot(ctx, year)
    if b.complete:
        row = [Action("提交选票", BALLOT_SUBMIT, (str(year),)),
               Action("返回修改", BALLOT_PAGE, (str(year), "0"))]  # fmt: skip
    else:
        row = [Action("继续评议", BALLOT_PAGE, (str(year), str(b.first_unrated_page())))]
    return Result([Out(say("ballot_summary.html.j2", row, b=b, counts=b.counts()), EDIT)])


@verb("ballot")
def submit(ctx: Ctx, year: int) -> Result:
    """提交选票: the ballot is counted anonymously; the ballot message says so, without it."""
    seen = vote.submit_ballot(ctx.session, ctx.rules, year, ctx.me.person_id, now=ctx.now)
    return Result([Out(say("ballot_submitted.html.j2", t=seen), EDIT)])


# ------------------------------------------------------------------ the leading group's /vote
def _ballots_out(ctx: Ctx, year: int, roll: list[int]) -> list[Out]:
    """A private ballot to everyone on the roll who has bound a messenger."""
    out: list[Out] = []
    for person_id, to in ctx.people(roll).items():
        if not to.addresses:
            continue
        b = vote.ballot(ctx.session, ctx.rules, year, person_id, now=ctx.now)
        out.append(Out(first_page(b), to))
    return out


def result_outs(rules: Rules, r: Results, people: dict[int, Person]) -> list[Out]:
    """What a close tells: the group the turnout and the distribution (or that it waits for
    the leading group's confirmation); each person, once counted, their own score."""
    t = r.turnout
    if t.state != vote.COUNTED:
        return [Out(say("vote_short.html.j2", t=t), GROUP_CHAT)]
    part = rules.review.part(rules.review.vote.part)
    out = [Out(say("vote_result.html.j2", t=t, distribution=r.distribution), GROUP_CHAT)]
    for received in r.people:
        to = people.get(received.person.id)
        if to is not None and to.addresses and received.mean is not None:
            own = say("vote_own_result.html.j2", year=t.year, part=part, mean=received.mean)
            out.append(Out(own, to))
    return out


def _table(r: Results, rules: Rules) -> Say:
    part = rules.review.part(rules.review.vote.part)
    return say("vote_table.html.j2", r=r, part=part)


def confirm_prompt(t: vote.Turnout) -> Say:
    """To the leading group, a vote closed short of the turnout: 仍按已投选票计分."""
    count = Action("仍按已投选票计分", VOTE_COUNT, (str(t.year),))
    return say("vote_confirm.html.j2", [count], t=t)


def _closed(ctx: Ctx, r: Results) -> Result:
    """The leading group's answer to a close, in private (everyone's score, or the question
    to count a vote short of the turnout), and what everyone else is told."""
    reply = _table(r, ctx.rules) if r.turnout.state == vote.COUNTED else confirm_prompt(r.turnout)
    people = ctx.people([p.person.id for p in r.people])
    return Result([Out(reply, DIRECT), *result_outs(ctx.rules, r, people)])


@verb("vote")
def manage_vote(ctx: Ctx, args: list[str]) -> Result:
    """/vote open 2026 [截止日期] | /vote close 2026 | /vote status [2026]."""
    action, rest = (args[0].lower(), args[1:]) if args else ("status", [])
    if action not in ("open", "close", "status"):
        return Result().reply(say("vote_usage.html.j2", year=assessment_year(ctx)))
    year, rest = _year(ctx, rest)
    s, by = ctx.session, ctx.me.label
    if action == "status":
        if s.get(Vote, year) is None:
            return Result().reply(say("vote_usage.html.j2", year=year))
        t = vote.turnout(s, year, calendar_tz(ctx.now))
        shown = Result().reply(say("vote_status.html.j2", t=t))
        if t.state == vote.CLOSED:
            shown.out.append(Out(confirm_prompt(t), DIRECT))
        return shown
    if action == "close":
        return _closed(ctx, vote.close_vote(s, ctx.rules, year, by=by, now=ctx.now))
    closes_on = vote.parse_closing_date(rest[0], today=ctx.now.date()) if rest else None
    t, roll = vote.open_vote(s, ctx.rules, year, closes_on=closes_on, by=by, now=ctx.now)
    ballots = _ballots_out(ctx, year, roll)
    opened = say("vote_opened.html.j2", t=t, sent=len(ballots))
    return Result([Out(opened), Out(say("vote_announced.html.j2", t=t), GROUP_CHAT), *ballots])


@verb("vote")
def confirm_count(ctx: Ctx, year: int) -> Result:
    """仍按已投选票计分: the leading group counts a vote that closed under the turnout."""
    r = vote.close_vote(ctx.session, ctx.rules, year, by=ctx.me.label, now=ctx.now, confirm=True)
    result = _closed(ctx, r)
    if ctx.event.private:  # the question becomes everyone's score
        result.out[0] = Out(result.out[0].say, EDIT)
    else:  # pressed in a group: the scores go in private, the question there says it is done
        result.out.insert(0, Out(say("vote_status.html.j2", t=r.turnout), EDIT))
    return result


# ------------------------------------------------------------------ scores typed in the chat
def sheet_say(s: review.Sheet, *, checking: bool) -> Say:
    """A scorer's sheet: each person with the score sent and the one waiting; to check before
    sending (with 确认提交 and 放弃), or to fill in (with how to write it)."""
    actions: list[list[Action]] = []
    if checking:
        args = (s.kind, str(s.year))
        actions.append([Action("确认提交", SCORES_SEND, args), Action("放弃", SCORES_DROP, args)])
    return say("scores_sheet.html.j2", *actions, s=s, checking=checking)


@verb("scores")
def score_sheet(ctx: Ctx, kind: str, args: list[str]) -> Result:
    """/leaderscore or /groupscore [年度] [姓名 分数 …]: the sheet, or the scores typed added
    to the draft and the sheet to check."""
    k = _kind(kind)
    year, rest = _year(ctx, args)
    text = " ".join(rest)
    if not text.strip():
        s = review.sheet(ctx.session, ctx.rules, k, ctx.me, year)
        return Result().reply(sheet_say(s, checking=s.drafted > 0))
    s = review.draft_scores(ctx.session, ctx.rules, k, ctx.me, year, text, now=ctx.now)
    return Result().reply(sheet_say(s, checking=True))


@verb("scores")
def send_scores(ctx: Ctx, kind: str, year: int) -> Result:
    """确认提交: the draft is sent (the parts it completes are entered)."""
    k = _kind(kind)
    n = review.send_scores(ctx.session, ctx.rules, k, ctx.me, year, now=ctx.now)
    s = review.sheet(ctx.session, ctx.rules, k, ctx.me, year)
    return Result([Out(say("scores_sent.html.j2", s=s, n=n), EDIT)])


@verb("scores")
def drop_scores(ctx: Ctx, kind: str, year: int) -> Result:
    """放弃: the draft is forgotten; what was sent before stays."""
    k = _kind(kind)
    review.drop_draft(ctx.session, k, ctx.me, year)
    return Result([Out(say("scores_dropped.html.j2", year=year, kind=k), EDIT)])


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise InputError("没有这种评分")
    return cast(Kind, kind)
