"""民主评议: the year-end vote in the chat, secret by construction.

The leading group opens the vote for a year; everyone active then is on its roll, both to
vote and to be rated. A voter's ratings are a draft (``review_draft``) while they rate, so
they can change them; submitting adds one to the tally of each rating given
(``vote_tally``: how many ballots gave a person each level), marks the voter as having
voted (``vote_roll``) and deletes the draft, in one transaction. After that no row says
what anyone voted, nor which ratings were on the same ballot: nobody can vote twice, and
anyone may see who has not voted, never how anyone voted. Submitting writes no audit line,
and rewrites every roll and tally row of the vote (on PostgreSQL a row's last writer, xmin,
would otherwise show which tallies moved with whose turnout). What no table shows may still
sit in the database's files until reclaimed (a deleted draft in SQLite's free pages or WAL,
PostgreSQL's dead rows until vacuum): the files are for administrators only.

At close each person's part (述职) is the mean of the points received, rounded as the rules
file says. With turnout under the rules file's minimum the vote stops taking ballots but
counts only once the leading group confirms it (or it is opened again, with a new date).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import update
from sqlmodel import Session, col, select

from scoring import review
from scoring.calendar import Duty
from scoring.duties.common import aware, calendar_tz
from scoring.errors import Conflict, InputError, NotFound
from scoring.ledger import audit, check_year_open
from scoring.models import Department, Person, ReviewDraft, Vote, VoteRoll, VoteTally
from scoring.parser import RosterPerson
from scoring.rules import Rules, ScaleLevel

OPEN, CLOSED, COUNTED = "open", "closed", "counted"
BALLOT = "ballot"  # the draft's kind


# ------------------------------------------------------------------ pure rules
def turnout_enough(voted: int, roll: int, minimum: Fraction) -> bool:
    """Whether enough of the roll voted (exactly: 2 of 3 is two thirds)."""
    return roll > 0 and Fraction(voted, roll) >= minimum


def received_mean(counts: Sequence[int], scale: Sequence[ScaleLevel], rules: Rules) -> Decimal:
    """The mean of the points a person received (counts per level of the scale)."""
    points = [level.points for level, n in zip(scale, counts, strict=True) for _ in range(n)]
    return review.rounded_mean(points, rules.review)


_ISO = re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?")
_MONTH_DAY = re.compile(r"(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?")


def parse_closing_date(text: str, *, today: date) -> date:
    """The last day of voting as typed (2027-01-15, 2027年1月15日, 1月15日: the next one)."""
    clean = text.strip()
    m = _ISO.fullmatch(clean) or _MONTH_DAY.fullmatch(clean)
    if m is None:
        raise InputError(f"没看懂截止日期“{clean}”,请写成 2027-01-15 或 1月15日")
    try:
        if "y" in m.groupdict():
            day = date(int(m["y"]), int(m["m"]), int(m["d"]))
        else:
            day = date(today.year, int(m["m"]), int(m["d"]))
            if day < today:
                day = day.replace(year=today.year + 1)
    except ValueError:
        raise InputError(f"没有“{clean}”这一天") from None
    if day < today:
        raise InputError(f"截止日期 {day.isoformat()} 已经过了")
    return day


# ------------------------------------------------------------------ views
@dataclass(frozen=True)
class Turnout:
    """A vote as anyone may see it: its state, when it closes, who has voted and who not."""

    year: int
    state: str
    closes_at: datetime | None
    scale: tuple[ScaleLevel, ...]
    minimum: Fraction
    voted: tuple[str, ...]
    not_voted: tuple[str, ...]
    low_turnout_confirmed: bool = False

    @property
    def roll(self) -> int:
        """How many may vote."""
        return len(self.voted) + len(self.not_voted)

    @property
    def enough(self) -> bool:
        """Whether turnout reaches the rules file's minimum."""
        return turnout_enough(len(self.voted), self.roll, self.minimum)


@dataclass(frozen=True)
class Received:
    """What one person received: ballots per level, and their mean (None: no ballot)."""

    person: RosterPerson
    counts: tuple[int, ...]
    mean: Decimal | None


@dataclass(frozen=True)
class Results:
    """A counted (or countable) vote: turnout, each level's ballots in all, each person's."""

    turnout: Turnout
    distribution: tuple[int, ...]
    people: tuple[Received, ...]


@dataclass(frozen=True)
class Ballot:
    """One voter's ballot: each colleague with the level chosen so far (None: not yet)."""

    year: int
    voter_id: int
    closes_at: datetime | None
    scale: tuple[ScaleLevel, ...]
    rows: tuple[tuple[RosterPerson, int | None], ...]
    page_size: int

    @property
    def rated(self) -> int:
        """How many colleagues are rated."""
        return sum(1 for _, level in self.rows if level is not None)

    @property
    def complete(self) -> bool:
        """Whether every colleague is rated (needed to submit)."""
        return self.rated == len(self.rows)

    @property
    def pages(self) -> int:
        """How many pages the ballot has."""
        return max(1, -(-len(self.rows) // self.page_size))

    def page(self, n: int) -> tuple[tuple[RosterPerson, int | None], ...]:
        """The colleagues on page n (from 0; a page out of range is the nearest one)."""
        n = min(max(n, 0), self.pages - 1)
        return self.rows[n * self.page_size : (n + 1) * self.page_size]

    def first_unrated_page(self) -> int:
        """The page of the first colleague not rated yet (0 when all are)."""
        for i, (_, level) in enumerate(self.rows):
            if level is None:
                return i // self.page_size
        return 0

    def counts(self) -> tuple[int, ...]:
        """How many colleagues this ballot gives each level."""
        return tuple(sum(1 for _, lv in self.rows if lv == i) for i in range(len(self.scale)))


# ------------------------------------------------------------------ the vote
def _vote(session: Session, year: int) -> Vote:
    vote = session.get(Vote, year)
    if vote is None:
        raise NotFound(f"{year}年度没有民主评议投票")
    return vote


def _scale(vote: Vote) -> tuple[ScaleLevel, ...]:
    return tuple(ScaleLevel.model_validate(level) for level in json.loads(vote.scale_json))


def _roll(session: Session, year: int) -> list[tuple[RosterPerson, bool]]:
    rows = session.exec(
        select(Person.id, Person.name, Department.name, VoteRoll.voted)
        .join(Person, col(Person.id) == col(VoteRoll.person_id))
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(VoteRoll.year == year)
        .order_by(col(Department.id), col(Person.id))
    ).all()
    return [(RosterPerson(int(i or 0), n, d), bool(v)) for i, n, d, v in rows]


def turnout(session: Session, year: int, tz: tzinfo) -> Turnout:
    """Who has voted and who has not (never what anyone voted); times in ``tz``."""
    vote = _vote(session, year)
    roll = _roll(session, year)
    closes = aware(vote.closes_at, tz) if vote.closes_at is not None else None
    return Turnout(
        year=year, state=vote.state, closes_at=closes, scale=_scale(vote),
        minimum=Fraction(vote.min_turnout),
        voted=tuple(p.label for p, v in roll if v),
        not_voted=tuple(p.label for p, v in roll if not v),
        low_turnout_confirmed=vote.low_turnout_confirmed,
    )  # fmt: skip


def not_voted(session: Session, year: int) -> list[int]:
    """The person ids on the roll who have not voted."""
    return [p.id for p, voted in _roll(session, year) if not voted]


def open_vote(
    session: Session, rules: Rules, year: int, *, closes_on: date | None, by: str, now: datetime
) -> tuple[Turnout, list[int]]:
    """Open the year's vote (or open again one that closed short of turnout, with a new
    date); the turnout and the ids of the roll, to whom ballots go."""
    check_year_open(session, year)
    if not 2000 <= year <= now.year:
        raise InputError(f"年度“{year}”不对,请写成 /vote open {now.year} 这样的形式")
    cfg = rules.review.vote
    vote = session.get(Vote, year)
    if vote is not None and vote.state == OPEN:
        raise Conflict(f"{year}年度民主评议已经在进行中")
    if vote is not None and vote.state == COUNTED:
        raise Conflict(f"{year}年度民主评议已经计分,不能再次投票")
    closes_at = remind_at = None
    if closes_on is not None:
        tz = now.tzinfo
        closes_at = datetime.combine(closes_on, time(cfg.closes_at.hour, cfg.closes_at.minute), tz)
        if closes_at <= now:
            raise InputError(f"截止时间 {closes_at:%Y-%m-%d %H:%M} 已经过了")
        remind = datetime.combine(
            closes_on - timedelta(days=cfg.remind_days_before),
            time(cfg.remind_at.hour, cfg.remind_at.minute), tz,
        )  # fmt: skip
        remind_at = remind if now < remind < closes_at else None
    if vote is None:
        people = review.active_people(session)
        if len(people) < 2:
            raise InputError("在岗人员不足两人,无法民主评议")
        vote = Vote(
            year=year, part=cfg.part, scale_json=json.dumps([s.model_dump(mode="json")
                                                             for s in cfg.scale]),
            min_turnout=str(cfg.min_turnout), opened_at=now, opened_by=by,
        )  # fmt: skip
        session.add(vote)
        session.flush()
        for p in people:
            session.add(VoteRoll(year=year, person_id=p.id))
            for level in range(len(cfg.scale)):
                session.add(VoteTally(year=year, person_id=p.id, level=level))
    vote.state, vote.closes_at, vote.remind_at, vote.closed_at = OPEN, closes_at, remind_at, None
    session.add(vote)
    session.flush()
    audit(session, now=now, actor=by, action="vote_open", year=year,
          closes_at=closes_at.isoformat() if closes_at else None)  # fmt: skip
    return turnout(session, year, calendar_tz(now)), [p.id for p, _ in _roll(session, year)]


def _check_open(vote: Vote, now: datetime) -> None:
    if vote.state != OPEN:
        raise Conflict(f"{vote.year}年度民主评议已经截止")
    if vote.closes_at is not None:
        closes = aware(vote.closes_at, calendar_tz(now))
        if now >= closes:
            raise Conflict(f"{vote.year}年度民主评议已于 {closes:%Y-%m-%d %H:%M} 截止")


def ballot(session: Session, rules: Rules, year: int, voter_id: int, *, now: datetime) -> Ballot:
    """A voter's ballot as it stands (refused once they have voted or the vote has closed)."""
    vote = _vote(session, year)
    _check_open(vote, now)
    roll = _roll(session, year)
    mine = [voted for p, voted in roll if p.id == voter_id]
    if not mine:
        raise NotFound(f"您不在{year}年度民主评议的名单中")
    if mine[0]:
        raise Conflict(f"您已经提交过{year}年度民主评议的选票,每人只能投一次")
    draft = session.get(ReviewDraft, (BALLOT, year, voter_id))
    chosen = {int(k): int(v) for k, v in json.loads(draft.values_json).items()} if draft else {}
    rows = tuple((p, chosen.get(p.id)) for p, _ in roll if p.id != voter_id)
    closes = aware(vote.closes_at, calendar_tz(now)) if vote.closes_at else None
    return Ballot(year, voter_id, closes, _scale(vote), rows, rules.review.vote.page_size)


def rate(
    session: Session, rules: Rules, year: int, voter_id: int, person_id: int, level: int,
    *, now: datetime,
) -> Ballot:  # fmt: skip
    """Choose (or change) a colleague's level on one's ballot, not yet submitted."""
    current = ballot(session, rules, year, voter_id, now=now)
    if person_id not in {p.id for p, _ in current.rows}:
        raise NotFound("选票上没有这位同事")
    if not 0 <= level < len(current.scale):
        raise InputError("没有这个等次")
    draft = session.get(ReviewDraft, (BALLOT, year, voter_id)) or ReviewDraft(
        kind=BALLOT, year=year, person_id=voter_id, updated_at=now
    )
    values = {**json.loads(draft.values_json or "{}"), str(person_id): level}
    draft.values_json, draft.updated_at = json.dumps(values), now
    session.add(draft)
    session.flush()
    return ballot(session, rules, year, voter_id, now=now)


def submit_ballot(
    session: Session, rules: Rules, year: int, voter_id: int, *, now: datetime
) -> Turnout:
    """Count a complete ballot: the tallies go up, the voter is marked as having voted, the
    draft is deleted; nothing else is written. A second submission is refused."""
    current = ballot(session, rules, year, voter_id, now=now)
    if not current.complete:
        left = len(current.rows) - current.rated
        raise InputError(f"还有 {left} 位同事未评,全部评完才能提交")
    marked = session.execute(
        update(VoteRoll)
        .where(
            col(VoteRoll.year) == year,
            col(VoteRoll.person_id) == voter_id,
            col(VoteRoll.voted).is_(False),
        )
        .values(voted=True)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"您已经提交过{year}年度民主评议的选票,每人只能投一次")
    for person, level in current.rows:
        session.execute(
            update(VoteTally)
            .where(
                col(VoteTally.year) == year,
                col(VoteTally.person_id) == person.id,
                col(VoteTally.level) == level,
            )
            .values(count=col(VoteTally.count) + 1)
        )
    # Every row of the roll and the tallies is written again, so that a database keeping the
    # last writer of each row (PostgreSQL's xmin) cannot tell which ones this ballot changed.
    session.execute(
        update(VoteRoll).where(col(VoteRoll.year) == year).values(voted=col(VoteRoll.voted))
    )
    session.execute(
        update(VoteTally).where(col(VoteTally.year) == year).values(count=col(VoteTally.count))
    )
    draft = session.get(ReviewDraft, (BALLOT, year, voter_id))
    if draft is not None:
        session.delete(draft)
    session.flush()
    return turnout(session, year, calendar_tz(now))


def results(session: Session, year: int, tz: tzinfo) -> Results:
    """Turnout, each level's ballots in all, and what each person received."""
    seen = turnout(session, year, tz)
    levels = len(seen.scale)
    tallies: dict[int, list[int]] = {}
    for person_id, level, count in session.exec(
        select(VoteTally.person_id, VoteTally.level, VoteTally.count).where(VoteTally.year == year)
    ).all():
        tallies.setdefault(person_id, [0] * levels)[level] = count
    people = [
        Received(person, tuple(tallies.get(person.id, [0] * levels)), None)
        for person, _ in _roll(session, year)
    ]
    distribution = tuple(sum(r.counts[i] for r in people) for i in range(levels))
    return Results(seen, distribution, tuple(people))


def scored(results: Results, rules: Rules) -> Results:
    """The results with each person's mean (None for someone no ballot rated)."""
    people = tuple(
        Received(r.person, r.counts,
                 received_mean(r.counts, results.turnout.scale, rules) if any(r.counts) else None)
        for r in results.people
    )  # fmt: skip
    return Results(results.turnout, results.distribution, people)


def close_vote(
    session: Session, rules: Rules, year: int, *, by: str, now: datetime, confirm: bool = False
) -> Results:
    """Stop the vote; count it into the 述职 part when turnout is enough, or when the leading
    group confirms (``confirm``) a vote that stopped short of it. Counted once."""
    vote = _vote(session, year)
    if vote.state == COUNTED:
        raise Conflict(f"{year}年度民主评议已经计分")
    check_year_open(session, year)
    if vote.state == OPEN:
        vote.state, vote.closed_at = CLOSED, now
        session.add(vote)
        session.flush()
        audit(session, now=now, actor=by, action="vote_close", year=year)
    counted = scored(results(session, year, calendar_tz(now)), rules)
    if not counted.turnout.enough and not confirm:
        return counted
    for r in counted.people:
        if r.mean is None:
            continue
        review.store_parts(session, rules, year=year, person_id=r.person.id,
                           values={vote.part: r.mean}, source="vote", by=by, now=now)  # fmt: skip
    vote.state, vote.counted_by = COUNTED, by
    vote.low_turnout_confirmed = not counted.turnout.enough
    session.add(vote)
    session.flush()
    seen = counted.turnout
    audit(session, now=now, actor=by, action="vote_count", year=year, voted=len(seen.voted),
          roll=seen.roll, confirmed_low_turnout=vote.low_turnout_confirmed)  # fmt: skip
    return scored(results(session, year, calendar_tz(now)), rules)


# ------------------------------------------------------------------ its duties
REMIND, CLOSE = "vote_remind", "vote_close"


def vote_duties(session: Session, now: datetime) -> list[Duty]:
    """The duties of open votes with a closing date: the reminder (while the vote is still
    open at ``now``) and the close itself. Keyed by the closing time, so a vote opened again
    with a new date has new ones."""
    tz = calendar_tz(now)
    out: list[Duty] = []
    dated = select(Vote).where(Vote.state == OPEN, col(Vote.closes_at).is_not(None))
    for vote in session.exec(dated).all():
        assert vote.closes_at is not None
        closes = aware(vote.closes_at, tz)
        stamp = f"{vote.year}:{closes:%Y%m%d%H%M}"
        if vote.remind_at is not None and now < closes:
            remind = aware(vote.remind_at, tz)
            out.append(Duty(remind, f"{REMIND}:{stamp}", REMIND, str(vote.year)))
        out.append(Duty(closes, f"{CLOSE}:{stamp}", CLOSE, str(vote.year)))
    return out
