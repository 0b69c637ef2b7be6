"""Everyone's verbs: binding an account, /help, /score, study notes and reflections."""

from __future__ import annotations

import re

from scoring import accounts
from scoring.errors import InputError
from scoring.ledger import person_entries, person_entry_count
from scoring.periods import Period
from scoring.personal import score_report, study_tally, submit_study
from usecases.core import Ctx, verb
from usecases.messages import DIRECT, EDIT, REPLY, Action, Out, Result, say
from usecases.paging import page_actions, page_of

SCORE_LATEST = 20  # entries /score shows; the others are a press away, in pages
SCORE_ALL, SCORE_PAGE = "score_all", "score_page"  # actions: all entries; a page of them


@verb("start")
def start(ctx: Ctx, code: str) -> Result:
    """Bind this messenger account with a code, or (no code) greet the person."""
    if not code:
        template = "unbound.html.j2" if ctx.account is None else "bound.html.j2"
        return Result().reply(say(template, account=ctx.account))
    event = ctx.event
    bound = accounts.bind(
        ctx.session, code, messenger=event.messenger, user_id=event.user_id, now=ctx.now
    )
    return Result().reply(say("bound.html.j2", account=bound))


@verb("help")
def help_text(ctx: Ctx) -> Result:
    """What this person can do, and how an inspector writes a finding."""
    return Result().reply(
        say("help.html.j2", account=ctx.account, duty=ctx.rules.duty, items=ctx.rules.items)
    )


@verb("score")
def score(ctx: Ctx) -> Result:
    """One's own score this year, in private (asked in a group: said so there), with the
    latest entries and, when there are more, an action for all of them in pages."""
    period = Period.containing(ctx.now.date(), "Y")
    report = score_report(
        ctx.session, ctx.rules, ctx.me.person_id, period, latest=SCORE_LATEST,
        standings=ctx.standings_of,
    )  # fmt: skip
    more = report.entry_count > len(report.entries)
    rows = [[Action("全部明细", SCORE_ALL, (str(period.year),))]] if more else []
    text = say("score.html.j2", *rows, r=report, s=report.standing, rules=ctx.rules, account=ctx.me)
    result = Result()
    if not ctx.event.private:
        result.reply(say("score_in_private.html.j2"))
    result.out.append(Out(text, DIRECT))
    return result


@verb("score")
def score_entries(ctx: Ctx, year: int, page: int, *, turn: bool = True) -> Result:
    """A page of one's own entries of a year: the first as a new message, the others
    turning the pages of that message (``turn``)."""
    period, person_id = Period.parse(str(year)), ctx.me.person_id
    at = page_of(person_entry_count(ctx.session, period, person_id), page)
    entries = person_entries(
        ctx.session, ctx.rules, period, person_id, offset=at.start, limit=at.stop - at.start
    )
    actions = page_actions(SCORE_PAGE, (str(year),), at)
    message = say(
        "score_entries.html.j2", *actions, account=ctx.me, year=year, page=at, entries=entries
    )
    return Result([Out(message, EDIT if turn else REPLY)])


_DECLARED = re.compile(r"^\s*(\d+)\s*字?\s*$")


def _chars(text: str) -> int:
    return len(re.sub(r"\s", "", text))


def declared_chars(body: str) -> int:
    """The characters a photo of notes declares ("800" or "800字")."""
    m = _DECLARED.match(body)
    if not m:
        raise InputError("照片提交请在说明中注明字数,例如:/notes 800")
    return int(m.group(1))


@verb("notes")
def hand_in_notes(ctx: Ctx, body: str, evidence: str = "", evidence_file: str = "") -> Result:
    """Study notes: typed text is counted; a photo declares its characters."""
    if not body and not evidence:
        return Result().reply(say("notes_how.html.j2"))
    chars = declared_chars(body) if evidence else _chars(body)
    return _hand_in(ctx, "notes", chars, evidence, evidence_file)


@verb("reflection")
def hand_in_reflection(ctx: Ctx, body: str, evidence: str = "", evidence_file: str = "") -> Result:
    """A study reflection (心得): text, photo or document."""
    if not body and not evidence:
        return Result().reply(say("reflection_how.html.j2"))
    return _hand_in(ctx, "reflection", _chars(body), evidence, evidence_file)


def _hand_in(ctx: Ctx, kind: str, chars: int, evidence: str, evidence_file: str) -> Result:
    me = ctx.me
    submit_study(
        ctx.session, person_id=me.person_id, kind=kind, chars=chars, fact_date=ctx.now.date(),
        evidence=evidence, now=ctx.now, actor=me.label, evidence_file=evidence_file,
    )  # fmt: skip
    ctx.session.flush()
    tally = study_tally(ctx.session, ctx.rules, me.person_id, ctx.now.year)
    return Result().reply(say("study_received.html.j2", kind=kind, chars=chars, t=tally))
