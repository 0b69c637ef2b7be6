"""The year-end review (述职测评) part by part, whichever way each part is entered.

A person's parts (述职, 分管领导评分, 班子综合评议 in the bundled rules) are kept one by one
(``review_part``): the 民主评议's mean (``scoring.vote``), the mean of the leaders in charge
(their marks, ``leader_mark``), the leading group's agreed score, or a file
(``kaohe review import``). Once every part of a person is in, ``review_score`` holds them
and their total, which is what the standings read. A leader's or the leading group's
scores are a draft until sent, so they can be checked first.

Every function works in the caller's session and checks everything before it writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from sqlalchemy import ColumnElement, delete
from sqlmodel import Session, col, select

from scoring.accounts import GROUP, LEADER, Account
from scoring.errors import InputError, PermissionDenied
from scoring.ledger import audit, check_year_open
from scoring.models import (
    Department,
    LeaderMark,
    Person,
    PersonLeads,
    ReviewDraft,
    ReviewPartScore,
    ReviewScore,
)
from scoring.parser import RosterPerson, resolve_person
from scoring.points import from_cp, to_cp
from scoring.roster import DbRoster
from scoring.rules import Review, ReviewScores, Rules
from scoring.tables import read_table

Kind = Literal["leader", "group"]  # who enters a sheet of scores: a leader, the leading group
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


# ------------------------------------------------------------------ pure rules
def rounded_mean(values: Sequence[Decimal], review: Review) -> Decimal:
    """The mean of some points, rounded as the rules file says (民主评议, several leaders)."""
    if not values:
        raise ValueError("the mean of nothing")
    exact = sum(values, Decimal(0)) / len(values)
    step = Decimal(1).scaleb(-review.mean_decimals)
    return exact.quantize(step, rounding=ROUNDING[review.mean_rounding])


def check_score(text: str, *, maximum: Decimal, step: Decimal, label: str) -> Decimal:
    """A score as typed ("4.5"): a number from 0 to the part's maximum, in its steps."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{label}:“{text}”不是数字") from None
    if not value.is_finite() or value < 0 or value > maximum:
        raise InputError(f"{label}:{text} 超出范围(0 到 {maximum})")
    if value % step != 0:
        places = {Decimal("0.1"): "一", Decimal("0.01"): "两"}.get(step)
        rule = f"最多保留{places}位小数" if places else f"应以 {step} 为单位"
        raise InputError(f"{label}:{text} {rule}")
    return value


_PAIR = re.compile(
    r"(?P<name>[^\s\d.,,;;::()()]+(?:[((][^()()]+[))])?)\s*[::]?\s*(?P<score>\d+(?:\.\d+)?)"
)
_SEPARATORS = re.compile(r"[\s,,;;、]+")


def parse_score_lines(text: str) -> list[tuple[str, str]]:
    """("张三", "4.5") for each "张三 4.5" written (on lines, or one after another)."""
    pairs: list[tuple[str, str]] = []
    at = 0
    for m in _PAIR.finditer(text):
        if _SEPARATORS.sub("", text[at : m.start()]):
            break
        pairs.append((m["name"], m["score"]))
        at = m.end()
    rest = _SEPARATORS.sub("", text[at:])
    if rest:
        raise InputError(f"没看懂“{rest[:20]}”,请按“姓名 分数”逐行填写,例如:张三 4.5")
    return pairs


# ------------------------------------------------------------------ parts
def parts_of(session: Session, year: int, person_id: int) -> dict[str, Decimal]:
    """A person's parts entered so far (those of a complete review entered before parts were
    kept one by one are read from it)."""
    rows = session.exec(
        select(ReviewPartScore).where(
            ReviewPartScore.year == year, ReviewPartScore.person_id == person_id
        )
    ).all()
    if rows:
        return {r.part: from_cp(r.points_cp) for r in rows}
    whole = _review_score(session, year, person_id)
    if whole is None:
        return {}
    return {code: Decimal(v) for code, v in json.loads(whole.parts_json).items()}


def _review_score(session: Session, year: int, person_id: int) -> ReviewScore | None:
    return session.exec(
        select(ReviewScore).where(ReviewScore.person_id == person_id, ReviewScore.year == year)
    ).first()


def store_parts(
    session: Session,
    rules: Rules,
    *,
    year: int,
    person_id: int,
    values: Mapping[str, Decimal],
    source: str,
    by: str,
    now: datetime,
) -> None:
    """Enter some review parts of a person; with all parts in, their review score is set."""
    check_year_open(session, year)
    earlier = parts_of(session, year, person_id)
    merged = {**earlier, **values}
    for code, value in merged.items():
        row = session.get(ReviewPartScore, (year, person_id, code))
        if row is not None and code not in values:
            continue
        if row is None:  # new, or a part of a complete review entered before, kept on its own
            row = ReviewPartScore(year=year, person_id=person_id, part=code, points_cp=0,
                                  source=source, entered_at=now)  # fmt: skip
        row.points_cp, row.entered_by, row.entered_at = to_cp(value), by, now
        if code in values:
            row.source = source
        session.add(row)
    codes = [p.code for p in rules.review.parts]
    if not all(code in merged for code in codes):
        return
    parts_json = json.dumps({code: str(merged[code]) for code in codes})
    whole = _review_score(session, year, person_id) or ReviewScore(
        person_id=person_id, year=year, parts_json="{}", total_cp=0, entered_at=now
    )
    if whole.id is not None and whole.parts_json != parts_json:  # the earlier marks stay
        before, after = json.loads(whole.parts_json), json.loads(parts_json)
        audit(session, now=now, actor=by, action="review_replaced", year=year,
              person=person_id, before=before, after=after)  # fmt: skip
    whole.parts_json = parts_json
    whole.total_cp = to_cp(sum((merged[code] for code in codes), Decimal(0)))
    whole.entered_at, whole.entered_by = now, by
    session.add(whole)
    session.flush()


def _review_value(line: int, header: str, text: str, maximum: Decimal) -> Decimal:
    return check_score(text, maximum=maximum, step=Decimal("0.01"), label=f"第{line}行 {header}")


def import_reviews(
    session: Session, rules: Rules, path: Path, *, year: int, now: datetime, actor: str
) -> int:
    """Enter year-end review parts from a file; all rows are checked before any is written.

    The file has 姓名 and a column for each part it enters (all of them, or some: a bureau
    that voted in the chat imports only 班子评议, say); the parts not in it stay as they are.
    """
    table = read_table(path, ["姓名"])
    if not table:
        raise InputError(f"{path.name} 没有评分数据")
    parts = [p for p in rules.review.parts if p.header in table[0][1]]
    if not parts:
        headers = ",".join(["姓名", *(p.header for p in rules.review.parts)])
        raise InputError(f"{path.name} 缺少评分列(第1行应为:{headers},或其中几列)")
    check_year_open(session, year)
    roster = DbRoster(session)
    problems: list[str] = []
    parsed: list[tuple[RosterPerson, dict[str, Decimal]]] = []
    seen: set[int] = set()
    for line, cells in table:
        spec = cells["姓名"] + (f"({cells['科室']})" if cells.get("科室") else "")
        try:
            person = resolve_person(spec, roster)
            values = {p.code: _review_value(line, p.header, cells[p.header], p.max) for p in parts}
        except InputError as exc:
            problems.append(exc.message)
            continue
        except Exception as exc:  # a parser error about the name
            problems.append(f"第{line}行 姓名:{exc}")
            continue
        if person.id in seen:
            problems.append(f"第{line}行 姓名:{person.label}重复")
        seen.add(person.id)
        parsed.append((person, values))
    if problems:
        raise InputError(
            "述职测评表有错误,未导入任何内容:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    for person, values in parsed:
        store_parts(session, rules, year=year, person_id=person.id, values=values,
                    source="import", by=actor, now=now)  # fmt: skip
    audit(session, now=now, actor=actor, action="review_import", year=year, rows=len(parsed))
    return len(parsed)


# ------------------------------------------------------------------ who scores whom
def _people(session: Session, *where: ColumnElement[bool]) -> list[RosterPerson]:
    rows = session.exec(
        select(Person.id, Person.name, Department.name)
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(col(Person.active).is_(True), *where)
        .order_by(col(Department.id), col(Person.id))
    ).all()
    return [RosterPerson(int(i or 0), n, d) for i, n, d in rows]


def active_people(session: Session) -> list[RosterPerson]:
    """Everyone assessed now (active), in roster order."""
    return _people(session)


def leaders_in_charge(session: Session, person_id: int) -> list[RosterPerson]:
    """The active leaders in charge of a person's department (not the person themself)."""
    person = session.get(Person, person_id)
    if person is None:
        return []
    led = select(PersonLeads.person_id).where(PersonLeads.department_id == person.department_id)
    return [p for p in _people(session, col(Person.id).in_(led)) if p.id != person_id]


def people_to_score(session: Session, kind: Kind, scorer: Account) -> list[RosterPerson]:
    """Whom a scorer scores: a leader the staff of the departments they lead (not themself);
    the leading group everyone, and as 分管领导评分 those whose department no one leads
    (themselves included: they enter what the leading group agrees)."""
    if kind == "group":
        return _people(session)
    people = _people(session, col(Person.department_id).in_(scorer.leads))
    people = [p for p in people if p.id != scorer.person_id]
    if scorer.has(GROUP):
        led = select(PersonLeads.department_id).join(
            Person, col(Person.id) == col(PersonLeads.person_id)
        )
        unled = _people(
            session, col(Person.department_id).not_in(led.where(col(Person.active).is_(True)))
        )
        people += [p for p in unled if p not in people]
    return people


# ------------------------------------------------------------------ a sheet of scores
@dataclass(frozen=True)
class SheetRow:
    """One person on a scorer's sheet: what was sent, and what waits in the draft."""

    person: RosterPerson
    sent: Decimal | None
    draft: Decimal | None


@dataclass(frozen=True)
class Sheet:
    """A leader's (or the leading group's) scores for a year, as they check them."""

    kind: Kind
    year: int
    part_name: str
    maximum: Decimal
    step: Decimal
    rows: tuple[SheetRow, ...]

    @property
    def drafted(self) -> int:
        """How many scores wait to be sent."""
        return sum(1 for r in self.rows if r.draft is not None)

    @property
    def empty(self) -> list[RosterPerson]:
        """People with no score, neither sent nor drafted."""
        return [r.person for r in self.rows if r.sent is None and r.draft is None]


def _config(rules: Rules, kind: Kind) -> ReviewScores:
    return rules.review.leader if kind == "leader" else rules.review.group


def _draft(session: Session, kind: str, year: int, person_id: int) -> ReviewDraft | None:
    return session.get(ReviewDraft, (kind, year, person_id))


def _sent(session: Session, kind: Kind, rules: Rules, year: int, scorer: Account) -> dict[int, int]:
    if kind == "leader":
        rows = session.exec(
            select(LeaderMark.person_id, LeaderMark.points_cp).where(
                LeaderMark.year == year, LeaderMark.leader_id == scorer.person_id
            )
        ).all()
        return {int(p): cp for p, cp in rows}
    part = _config(rules, kind).part
    rows = session.exec(
        select(ReviewPartScore.person_id, ReviewPartScore.points_cp).where(
            ReviewPartScore.year == year, ReviewPartScore.part == part
        )
    ).all()
    return {int(p): cp for p, cp in rows}


def sheet(session: Session, rules: Rules, kind: Kind, scorer: Account, year: int) -> Sheet:
    """The scorer's sheet: whom they score, what they sent, what waits in their draft."""
    cfg = _config(rules, kind)
    part = rules.review.part(cfg.part)
    if not scorer.has(GROUP) and (kind == "group" or not scorer.has(LEADER)):
        enters = "考核领导小组" if kind == "group" else "分管领导"
        raise PermissionDenied(f"{part.name}由{enters}录入")
    people = people_to_score(session, kind, scorer)
    if not people:
        raise InputError("您没有需要评分的人员" if kind == "leader" else "花名册中没有在岗人员")
    sent = _sent(session, kind, rules, year, scorer)
    row = _draft(session, kind, year, scorer.person_id)
    draft = {int(k): Decimal(v) for k, v in json.loads(row.values_json).items()} if row else {}
    rows = tuple(
        SheetRow(p, from_cp(sent[p.id]) if p.id in sent else None, draft.get(p.id)) for p in people
    )
    return Sheet(kind, year, part.name, part.max, cfg.step, rows)


def draft_scores(
    session: Session, rules: Rules, kind: Kind, scorer: Account, year: int, text: str,
    *, now: datetime,
) -> Sheet:  # fmt: skip
    """Add typed scores ("张三 4.5" lines) to the scorer's draft; every problem is listed and
    nothing is kept when there is one."""
    check_year_open(session, year)
    current = sheet(session, rules, kind, scorer, year)
    by_spec: dict[str, list[RosterPerson]] = {}
    for r in current.rows:
        by_spec.setdefault(r.person.name, []).append(r.person)
        by_spec[r.person.label] = [r.person]
    problems: list[str] = []
    values: dict[int, Decimal] = {}
    for name, score in parse_score_lines(text):
        found = by_spec.get(name.replace("(", "(").replace(")", ")"), [])
        if len(found) != 1:
            shared = "、".join(p.label for p in found)
            problems.append(f"{name}:有 {len(found)} 位,请写明科室({shared})" if found
                            else f"{name}:不在您的评分名单中")  # fmt: skip
            continue
        try:
            values[found[0].id] = check_score(
                score, maximum=current.maximum, step=current.step, label=found[0].label
            )
        except InputError as exc:
            problems.append(exc.message)
    if problems:
        raise InputError("评分有误,未保存:\n" + "\n".join(f"  - {p}" for p in problems))
    if not values:
        raise InputError("请按“姓名 分数”填写,例如:张三 4.5")
    row = _draft(session, kind, year, scorer.person_id) or ReviewDraft(
        kind=kind, year=year, person_id=scorer.person_id, updated_at=now
    )
    merged = {**json.loads(row.values_json or "{}"), **{str(k): str(v) for k, v in values.items()}}
    row.values_json, row.updated_at = json.dumps(merged), now
    session.add(row)
    session.flush()
    return sheet(session, rules, kind, scorer, year)


def drop_draft(session: Session, kind: Kind, scorer: Account, year: int) -> bool:
    """Forget the scorer's unsent scores; False if there were none."""
    gone = session.execute(
        delete(ReviewDraft).where(
            col(ReviewDraft.kind) == kind,
            col(ReviewDraft.year) == year,
            col(ReviewDraft.person_id) == scorer.person_id,
        )
    )
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def send_scores(
    session: Session, rules: Rules, kind: Kind, scorer: Account, year: int, *, now: datetime
) -> int:
    """Send the scorer's draft: a leader's marks (each person's 分管领导评分 is their leaders'
    mean once all have scored), or the leading group's 班子评议. How many were sent."""
    check_year_open(session, year)
    row = _draft(session, kind, year, scorer.person_id)
    if row is None:
        raise InputError("没有待提交的评分,请先按“姓名 分数”填写")
    values = {int(k): Decimal(v) for k, v in json.loads(row.values_json).items()}
    part = _config(rules, kind).part
    for person_id, value in values.items():
        if kind == "group":
            store_parts(session, rules, year=year, person_id=person_id, values={part: value},
                        source="group", by=scorer.label, now=now)  # fmt: skip
            continue
        mark = session.get(LeaderMark, (year, scorer.person_id, person_id)) or LeaderMark(
            year=year, leader_id=scorer.person_id, person_id=person_id, points_cp=0, entered_at=now
        )
        mark.points_cp, mark.entered_at = to_cp(value), now
        session.add(mark)
        session.flush()
        mean = leaders_mean(session, rules, year, person_id)
        if mean is not None:
            store_parts(session, rules, year=year, person_id=person_id, values={part: mean},
                        source="leader", by=scorer.label, now=now)  # fmt: skip
    session.delete(row)
    audit(session, now=now, actor=scorer.label, action=f"review_{kind}_scores", year=year,
          scores={str(k): str(v) for k, v in values.items()})  # fmt: skip
    session.flush()
    return len(values)


def _marks(session: Session, year: int, person_id: int) -> dict[int, Decimal]:
    rows = session.exec(
        select(LeaderMark.leader_id, LeaderMark.points_cp).where(
            LeaderMark.year == year, LeaderMark.person_id == person_id
        )
    ).all()
    return {int(leader): from_cp(cp) for leader, cp in rows}


def leaders_mean(session: Session, rules: Rules, year: int, person_id: int) -> Decimal | None:
    """A person's 分管领导评分: the mean of their leaders in charge once every one has scored
    (someone no one leads: the mean of the leading group's marks); None while one has not."""
    marks = _marks(session, year, person_id)
    leaders = [p.id for p in leaders_in_charge(session, person_id)]
    if leaders:
        if any(lid not in marks for lid in leaders):
            return None
        return rounded_mean([marks[lid] for lid in leaders], rules.review)
    return rounded_mean(list(marks.values()), rules.review) if marks else None


# ------------------------------------------------------------------ what is missing
@dataclass(frozen=True)
class Missing:
    """A person whose review is not complete: the parts missing, the leaders yet to score."""

    label: str
    parts: tuple[str, ...]
    waiting: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.label}:缺{'、'.join(self.parts)}"
        if self.waiting:
            text += f"(待{'、'.join(self.waiting)}评分)"
        return text


def missing_parts(session: Session, rules: Rules, year: int) -> list[Missing]:
    """Active people whose review for the year is not complete, and what each lacks."""
    complete = select(ReviewScore.person_id).where(ReviewScore.year == year)
    leader_part = rules.review.leader.part
    out: list[Missing] = []
    for person in _people(session, col(Person.id).not_in(complete)):
        have = parts_of(session, year, person.id)
        lacking = [p for p in rules.review.parts if p.code not in have]
        waiting: tuple[str, ...] = ()
        if any(p.code == leader_part for p in lacking):
            marks = _marks(session, year, person.id)
            waiting = tuple(
                p.name for p in leaders_in_charge(session, person.id) if p.id not in marks
            )
        out.append(Missing(person.label, tuple(p.name for p in lacking), waiting))
    return out
