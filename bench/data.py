"""A district-sized ledger, generated reproducibly into a SQLite file.

The schema comes from the real migrations (``scoring.db.upgrade``); rows go in by DBAPI
``executemany`` in chunks (each value through its column's SQLAlchemy bind processor, so
the file holds exactly what the ORM would write), never ORM objects one by one. Entries are
written in fact-date order, as a year of recording would leave them: mostly personal
deductions, some duty incidents and department charges, a few thousand bonuses whose
titles recur at higher levels, and a few hundred revocations recorded afterwards.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, event, text

from scoring.db import make_engine, upgrade
from scoring.models import (
    Department,
    Entry,
    Person,
    PersonLeads,
    ReviewScore,
    VetoRecord,
)
from scoring.points import to_cp
from scoring.rules import Item, Rules

Row = dict[str, Any]
CHUNK = 20_000
# Every entry column a generated row may leave out, with the value the ledger would store.
ENTRY_DEFAULTS: Row = {
    "person_id": None, "category": "", "item_code": "", "count": 1, "points_cp": 0,
    "recorded_by": "", "source": "cli", "finding": "", "batch": "", "role": "",
    "evidence": "",
    "evidence_file": "", "note": "", "bonus_kind": "", "bonus_level": "", "bonus_key": "",
    "revokes_id": None, "reason": "",
}  # fmt: skip

TOWNS = (
    "城关", "东城", "西城", "南关", "北关", "新华", "解放", "和平", "人民", "建设",
    "长安", "永安", "太平", "兴隆", "安定", "清河", "石桥", "柳林", "杨庄", "王村",
)  # fmt: skip
UNITS = (
    "综合股", "执法一股", "执法二股", "食品股", "药械股",
    "特种设备股", "计量股", "标准股", "登记股", "消保股",
)  # fmt: skip
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
    "肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌宇浩凯鹏飞俊峰晨阳欣怡"
)
RANKS = ("一级科员", "二级科员", "四级主任科员", "三级主任科员", "二级主任科员", "一级主任科员")
POSITIONS = ("科员", "副股长", "股长", "执法人员", "协管员")
INSPECTORS = ("督查组-钱进", "督查组-孙立", "督查组-周全", "督查组-吴敏", "考核办")

# How often each item is found, relative to one another (items not named here: 1).
ITEM_WEIGHTS: dict[str, float] = {
    "daily_late": 30,
    "daily_early": 18,
    "daily_off_post": 8,
    "daily_post_check_absent": 6,
    "daily_duty_missed": 4,
    "daily_duty_incident": 2,
    "daily_absent": 1.5,
    "daily_drinking": 0.5,
    "daily_misconduct": 0.05,
    "daily_notified": 0.2,
    "study_absent": 10,
    "study_notes_poor": 8,
    "study_online_missing": 3,
    "study_xuexi_notified": 3,
    "study_notes_short": 0.3,
    "study_reflection_missing": 0.6,
    "business_report_late": 8,
    "business_report_missing": 3,
    "business_no_plan": 1.5,
    "business_evidence": 2,
    "business_court_revoked": 0.2,
    "business_overdue_supervised": 1,
    "central_investment_absent": 4,
    "central_safety_absent": 4,
    "central_safety_disobey": 0.5,
    "central_village_notified": 0.3,
    "central_epidemic": 0.3,
}
# Items found only once a year per person, at the year's end.
YEAR_END_ITEMS = ("study_notes_short", "study_reflection_missing")


@dataclass(frozen=True)
class Spec:
    """The data set's size and seed."""

    people: int = 5_000
    departments: int = 200
    entries: int = 500_000
    bonuses: int = 4_000
    revocations: int = 400
    vetoes: int = 12
    inactive: int = 50
    leaders: int = 20
    year: int = 2026
    seed: int = 20260101

    def scaled(self, factor: float) -> Spec:
        """The same mix at another size (for quick runs): counts times factor, at least 1."""
        if factor == 1:
            return self

        def scale(n: int) -> int:
            return max(1, round(n * factor))

        return replace(
            self,
            people=scale(self.people),
            departments=scale(self.departments),
            entries=scale(self.entries),
            bonuses=scale(self.bonuses),
            revocations=scale(self.revocations),
            vetoes=scale(self.vetoes),
            inactive=scale(self.inactive),
            leaders=min(scale(self.leaders), scale(self.departments)),
        )


@dataclass
class Dataset:
    """A generated database file and what went into it."""

    path: Path
    spec: Spec
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the file."""
        return f"sqlite:///{self.path}"


@dataclass(frozen=True)
class _Person:
    id: int
    name: str
    department_id: int
    active: bool


@dataclass
class _World:
    rng: random.Random
    rules: Rules
    spec: Spec
    departments: list[str]
    people: list[_Person]
    members: dict[int, list[_Person]]  # department id → its active members
    leaders_of: dict[int, list[_Person]]  # department id → its leaders in charge
    person_cum: list[float]  # cumulative weights over active people (who gets found)
    active: list[_Person]


def _names(rng: random.Random, n: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        name = rng.choice(SURNAMES) + given
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _aware(day: date, rng: random.Random, *, days_later: int = 0) -> datetime:
    """A working-hours moment (Beijing time) some days after a fact date, in UTC."""
    local = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(
        days=days_later, minutes=rng.randrange(0, 9 * 60)
    )
    return local - timedelta(hours=8)


def _working_days(year: int) -> list[date]:
    day, out = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _world(rules: Rules, spec: Spec, rng: random.Random) -> _World:
    per_round = len(TOWNS) * len(UNITS)
    departments = [
        f"{TOWNS[i % len(TOWNS)]}所{UNITS[i // len(TOWNS) % len(UNITS)]}{i // per_round or ''}"
        for i in range(spec.departments)
    ]
    names = _names(rng, spec.people)
    inactive = set(rng.sample(range(spec.people), spec.inactive))
    people = [
        _Person(i + 1, names[i], i % spec.departments + 1, i not in inactive)
        for i in range(spec.people)
    ]
    members: dict[int, list[_Person]] = {d + 1: [] for d in range(spec.departments)}
    for p in people:
        if p.active:
            members[p.department_id].append(p)
    leaders = rng.sample([p for p in people if p.active], spec.leaders)
    leaders_of: dict[int, list[_Person]] = {d + 1: [] for d in range(spec.departments)}
    for d in range(spec.departments):
        leaders_of[d + 1].append(leaders[d * spec.leaders // spec.departments])
    active = [p for p in people if p.active]
    # A few people are found far more often than most.
    cum = list(accumulate(rng.lognormvariate(0, 1.5) for _ in active))
    return _World(rng, rules, spec, departments, people, members, leaders_of, cum, active)


def _roster_rows(w: _World) -> tuple[list[Row], list[Row], list[Row]]:
    now = datetime(w.spec.year - 1, 12, 20, 1, tzinfo=UTC)
    depts = [{"id": i + 1, "name": n} for i, n in enumerate(w.departments)]
    leader_ids = {p.id for ps in w.leaders_of.values() for p in ps}
    people = [
        {
            "id": p.id,
            "name": p.name,
            "department_id": p.department_id,
            "position": "分管领导" if p.id in leader_ids else w.rng.choice(POSITIONS),
            "staff_type": "公务员" if w.rng.random() < 0.8 else "事业人员",
            "rank": w.rng.choice(RANKS),
            "roles": "干部职工,分管领导" if p.id in leader_ids else "干部职工",
            "active": p.active,
            "telegram_user_id": 700_000_000 + p.id * 7 if w.rng.random() < 0.9 else None,
            "created_at": now,
        }
        for p in w.people
    ]
    leads = [{"person_id": p.id, "department_id": d} for d, ps in w.leaders_of.items() for p in ps]
    return depts, people, leads


def _count(item: Item, rng: random.Random) -> int:
    if item.unit in ("年", "篇") or rng.random() < 0.88:
        return 1
    return 2 if rng.random() < 0.75 else 3


def _finding(w: _World, item: Item, day: date, room: int) -> list[Row]:
    """One finding's deduction rows (at most ``room`` of them)."""
    rng, rules = w.rng, w.rules
    count = _count(item, rng)
    word = rng.choice(item.words)
    suffix = f" {count}{item.unit}" if count > 1 else ""
    common = {
        "kind": "deduction",
        "category": item.category,
        "item_code": item.code,
        "count": count,
        "fact_date": day,
        "recorded_by": rng.choice(INSPECTORS),
        "recorded_at": _aware(day, rng, days_later=rng.choice((0, 0, 0, 1, 2, 3))),
        "source": "bot" if rng.random() < 0.85 else "cli",
        "batch": f"{rng.getrandbits(128):032x}",
        "evidence": f"AgACAgUAAxkBAAI{rng.getrandbits(64):016x}" if rng.random() < 0.3 else "",
        "note": "",
    }
    charges: list[tuple[_Person, int, str]] = []
    dept_chargeable = rules.category(item.category).department_chargeable
    if item.bearer == "duty" and room >= 3:
        assert item.leader_points is not None and item.member_points is not None
        crew = rng.sample(w.active, 3)
        charges = [(crew[0], to_cp(item.leader_points * count), "带班领导")]
        charges += [(p, to_cp(item.member_points * count), "值班组员") for p in crew[1:]]
        text_ = f"带班:{crew[0].name} 值班:{crew[1].name}、{crew[2].name} {word}{suffix}"
    elif dept_chargeable and rng.random() < 0.04:
        dept = rng.randrange(1, w.spec.departments + 1)
        bearers = [(p, "科室共同承担") for p in w.members[dept]]
        bearers += [(p, "分管领导") for p in w.leaders_of[dept]]
        seen: set[int] = set()
        cp = to_cp(item.points * count)
        for p, role in bearers:
            if p.id not in seen and len(charges) < room:
                seen.add(p.id)
                charges.append((p, cp, role))
        text_ = f"{w.departments[dept - 1]} {word}{suffix}"
    else:
        n = 1 if rng.random() < 0.9 or room < 3 else rng.choice((2, 3))
        chosen: dict[int, _Person] = {}
        while len(chosen) < n:
            p = rng.choices(w.active, cum_weights=w.person_cum)[0]
            chosen[p.id] = p
        cp = to_cp(item.points * count)
        charges = [(p, cp, "本人") for p in chosen.values()]
        text_ = f"{'、'.join(p.name for p in chosen.values())} {word}{suffix}"
    return [
        {**common, "person_id": p.id, "points_cp": cp, "role": role, "finding": text_}
        for p, cp, role in charges
    ]


def _bonuses(w: _World) -> list[Row]:
    """Exactly ``spec.bonuses`` bonus rows; many titles come back later at a higher level."""
    rng, spec = w.rng, w.spec
    kinds = {k.code: k for k in w.rules.bonus.kinds}
    rows: list[Row] = []

    def grant(
        kind: str, level: str, title: str, day: date, people: list[_Person], role: str
    ) -> None:
        points = to_cp(kinds[kind].levels[level])
        batch = f"{rng.getrandbits(128):032x}"
        at = _aware(day, rng, days_later=rng.randrange(1, 10))
        for p in people:
            rows.append(
                {
                    "kind": "bonus", "person_id": p.id, "category": "bonus",
                    "item_code": kind, "count": 1, "points_cp": points, "fact_date": day,
                    "recorded_by": "考核办", "recorded_at": at, "source": "cli",
                    "finding": title, "batch": batch, "role": role, "evidence": "",
                    "note": "", "bonus_kind": kind, "bonus_level": level,
                    "bonus_key": f"{kind}:{title}",
                }
            )  # fmt: skip

    days = _working_days(spec.year)
    honour = next((k for k in w.rules.bonus.kinds if k.department_wide), None)
    personal = next((k for k in w.rules.bonus.kinds if not k.department_wide), None)
    honour_levels = sorted(honour.levels, key=honour.levels.__getitem__) if honour else []
    personal_levels = sorted(personal.levels, key=personal.levels.__getitem__) if personal else []
    n = 0
    while len(rows) < spec.bonuses:
        n += 1
        if honour and (n % 8 == 0 or not personal):
            # A department's honour, sometimes raised later to a higher level.
            dept = rng.randrange(1, spec.departments + 1)
            title = f"{spec.year}年度{rng.choice(('先进集体', '优秀股室', '文明科室'))}第{n}号"
            start = rng.randrange(0, len(honour_levels))
            day = rng.choice(days[: len(days) * 2 // 3])
            for level in honour_levels[start : start + rng.choice((1, 1, 2))]:
                role = f"{w.departments[dept - 1]}集体荣誉"
                grant(honour.code, level, title, day, w.members[dept], role)
                day = min(day + timedelta(days=rng.randrange(20, 90)), days[-1])
        elif personal:
            # An article, sometimes picked up again by a higher level.
            person = rng.choice(w.active)
            topic = rng.choice(("食品安全", "特种设备", "计量", "消费维权"))
            title = f"关于{topic}工作的信息第{n}篇"
            start = rng.randrange(0, len(personal_levels))
            day = rng.choice(days)
            for level in personal_levels[start : start + rng.choice((1, 1, 1, 2, 3))]:
                grant(personal.code, level, title, day, [person], "本人")
                day = min(day + timedelta(days=rng.randrange(3, 30)), days[-1])
        else:
            break
    del rows[spec.bonuses :]
    return rows


def _entries(w: _World, bonus_rows: list[Row]) -> Iterator[Row]:
    """Deductions and bonuses in fact-date order, exactly ``entries − revocations`` rows."""
    rng, spec = w.rng, w.spec
    items = [i for i in w.rules.items if i.code not in YEAR_END_ITEMS]
    item_cum = list(accumulate(ITEM_WEIGHTS.get(i.code, 1.0) for i in items))
    year_end = [w.rules.item(c) for c in YEAR_END_ITEMS if c in {i.code for i in w.rules.items}]
    days = _working_days(spec.year)
    deductions = spec.entries - spec.revocations - len(bonus_rows)
    # Year-end items: once per person found short, on the last working day.
    late = [
        row
        for item in year_end
        for p in rng.sample(w.active, len(w.active) // 10)
        for row in _finding_for(w, item, days[-1], p)
    ][: deductions // 50]
    deductions -= len(late)
    bonuses = sorted(bonus_rows, key=lambda r: r["fact_date"])
    b = 0
    made = 0
    for k, day in enumerate(days):
        quota = deductions * (k + 1) // len(days) - made
        while quota > 0:
            item = rng.choices(items, cum_weights=item_cum)[0]
            rows = _finding(w, item, day, quota)
            quota -= len(rows)
            made += len(rows)
            yield from rows
        while b < len(bonuses) and bonuses[b]["fact_date"] <= day:
            yield bonuses[b]
            b += 1
    yield from bonuses[b:]
    yield from late


def _finding_for(w: _World, item: Item, day: date, person: _Person) -> list[Row]:
    rows = _finding(w, item, day, 1)
    for row in rows:
        row["person_id"] = person.id
        row["finding"] = f"{person.name} {item.name}"
    return rows


def _reviews_and_vetoes(w: _World) -> tuple[list[Row], list[Row]]:
    rng, spec, parts = w.rng, w.spec, w.rules.review.parts
    at = datetime(spec.year + 1, 1, 20, 2, tzinfo=UTC)
    reviews = []
    for p in w.people:
        values = {
            part.code: (part.max * rng.randrange(60, 101, 5) / 100).quantize(part.max.scaleb(-2))
            for part in parts
        }
        reviews.append(
            {
                "person_id": p.id,
                "year": spec.year,
                "parts_json": json.dumps({k: str(v) for k, v in values.items()}),
                "total_cp": sum(to_cp(v) for v in values.values()),
                "entered_at": at,
                "entered_by": "考核办",
            }
        )
    days = _working_days(spec.year)
    vetoes = []
    for p in rng.sample(w.active, spec.vetoes):
        day = rng.choice(days)
        vetoes.append(
            {
                "person_id": p.id,
                "year": spec.year,
                "fact_date": day,
                "reason": rng.choice(w.rules.veto.reasons or ("违纪",)),
                "recorded_by": "考核领导小组",
                "recorded_at": _aware(day, rng, days_later=5),
            }
        )
    return reviews, vetoes


def _insert(conn: Connection, table: Table, rows: Iterable[Row]) -> int:
    """executemany in chunks, each value put through its column type as SQLAlchemy would."""
    dialect = conn.dialect
    names = [c.name for c in table.columns]
    processors = [
        (i, process)
        for i, c in enumerate(table.columns)
        if (process := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"

    def values(row: Row) -> tuple[Any, ...]:
        out = [row.get(name) for name in names]
        for i, process in processors:
            if out[i] is not None:
                out[i] = process(out[i])
        return tuple(out)

    n = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(values(row))
        if len(chunk) >= CHUNK:
            conn.exec_driver_sql(sql, chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        conn.exec_driver_sql(sql, chunk)
        n += len(chunk)
    return n


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _loading_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA cache_size=-262144")
    dbapi_conn.execute("PRAGMA synchronous=OFF")


def generate(path: Path, rules: Rules, spec: Spec | None = None) -> Dataset:
    """Create the schema by the migrations and fill it; the file must not exist yet."""
    spec = spec or Spec()
    started = time.perf_counter()
    rng = random.Random(spec.seed)
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        w = _world(rules, spec, rng)
        depts, people, leads = _roster_rows(w)
        bonus_rows = _bonuses(w)
        entry_table = _table(Entry)
        revocable: list[Row] = []
        want_revoked = spec.revocations
        deduction_total = spec.entries - spec.revocations - len(bonus_rows)
        ids = iter(range(1, spec.entries + 1))

        def numbered(rows: Iterator[Row]) -> Iterator[Row]:
            for row in rows:
                row = {**ENTRY_DEFAULTS, **row, "id": next(ids)}
                # Candidates for revocation: a trickle of deductions, more of the bonuses.
                odds = 0.03 if row["kind"] == "bonus" else 4 * want_revoked / deduction_total
                if rng.random() < odds:
                    revocable.append(row)
                yield row

        counts: dict[str, int] = {}
        # A throwaway file: a big page cache and no fsync while loading (set as each new
        # connection opens: they cannot change inside the transaction a writer begins with).
        engine.dispose()
        event.listen(engine, "connect", _loading_pragmas)
        with engine.begin() as conn:
            counts["department"] = _insert(conn, _table(Department), depts)
            counts["person"] = _insert(conn, _table(Person), people)
            _insert(conn, _table(PersonLeads), leads)
            counts["entry"] = _insert(conn, entry_table, numbered(_entries(w, bonus_rows)))
            targets = rng.sample(revocable, min(spec.revocations, len(revocable)))
            revocations = [
                {
                    **ENTRY_DEFAULTS,
                    **{k: t[k] for k in ("person_id", "category", "item_code", "count")},
                    **{"fact_date": t["fact_date"], "batch": t["batch"]},
                    "id": next(ids),
                    "kind": "revocation",
                    "points_cp": 0,
                    "recorded_by": "考核办",
                    "recorded_at": t["recorded_at"] + timedelta(days=rng.randrange(1, 20)),
                    "source": "revoke",
                    "revokes_id": t["id"],
                    "reason": rng.choice(("误记", "经核实已请假", "申诉成立", "重复记录")),
                }
                for t in sorted(targets, key=lambda r: r["id"])
            ]
            counts["entry"] += _insert(conn, entry_table, revocations)
            reviews, vetoes = _reviews_and_vetoes(w)
            counts["review_score"] = _insert(conn, _table(ReviewScore), reviews)
            counts["veto"] = _insert(conn, _table(VetoRecord), vetoes)
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind, COUNT(*) FROM entry GROUP BY kind")).all()
            counts.update({f"{k}_entries": int(n) for k, n in kinds})
        raw = engine.raw_connection()  # outside any transaction (they begin themselves here)
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
    finally:
        engine.dispose()
    return Dataset(path, spec, counts, time.perf_counter() - started)
