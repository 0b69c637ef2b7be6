"""An independent check of compute_standings on the generated data set.

The oracle reads the raw rows with plain ``sqlite3`` and does every filter, sum and
dedupe in Python, then finishes with the pure engine (grades are the engine's job and
have their own tests). Any speed-up of ``scoring/standings.py`` or its indexes must
keep ``python -m bench --check`` green: same people, order, points, ranks and grades.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from bench.registry import Context, Result
from scoring.db import make_engine
from scoring.engine import capped_bonus, category_score, grade_all
from scoring.periods import Period
from scoring.points import from_cp
from scoring.rules import Rules
from scoring.standings import CategoryResult, Standing, compute_standings


def oracle(conn: sqlite3.Connection, rules: Rules, period: Period) -> list[Standing]:
    """Standings computed the slow, obvious way from the raw tables."""
    entries = conn.execute(
        "SELECT id, kind, person_id, category, points_cp, fact_date, bonus_key, revokes_id"
        " FROM entry"
    ).fetchall()
    revoked = {row[7] for row in entries if row[1] == "revocation"}
    deducted: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    best: dict[tuple[int, str], int] = {}
    for eid, kind, person_id, category, cp, fact, key, _ in entries:
        if eid in revoked or not period.contains(date.fromisoformat(fact)):
            continue
        if kind == "deduction":
            deducted[person_id][category] += cp
        elif kind == "bonus":
            best[person_id, key] = max(best.get((person_id, key), cp), cp)
    bonus: dict[int, int] = defaultdict(int)
    for (person_id, _), cp in best.items():
        bonus[person_id] += cp
    reviews: dict[int, int] = {}
    if period.annual:
        reviews = dict(
            conn.execute(
                "SELECT person_id, total_cp FROM review_score WHERE year = ?", (period.year,)
            ).fetchall()
        )
    vetoed = {
        person_id
        for person_id, year, fact in conn.execute("SELECT person_id, year, fact_date FROM veto")
        if year == period.year and date.fromisoformat(fact) < period.end
    }
    people = conn.execute(
        "SELECT p.id, p.name, d.name, p.rank, p.active FROM person p"
        " JOIN department d ON d.id = p.department_id"
    ).fetchall()
    out: list[Standing] = []
    for person_id, name, dept, rank_level, active in people:
        if not active:
            continue
        cats: dict[str, CategoryResult] = {}
        total = Decimal(0)
        estimated = False
        for cat in rules.categories:
            if cat.code == rules.review.category:
                score = from_cp(reviews[person_id]) if person_id in reviews else None
                if score is None and rules.scoring.assume_review_base_until_entered:
                    total += cat.base
                    estimated = True
                total += score or 0
                cats[cat.code] = CategoryResult(Decimal(0), score)
            else:
                d = from_cp(deducted[person_id][cat.code])
                score = category_score(cat.base, d, floor_at_zero=rules.scoring.floor_at_zero)
                cats[cat.code] = CategoryResult(d, score)
                total += score
        raw = from_cp(bonus[person_id])
        capped = capped_bonus(raw, rules.bonus.cap)
        out.append(
            Standing(person_id, name, dept, rank_level, cats, raw, capped, total + capped,
                     estimated, person_id in vetoed)
        )  # fmt: skip
    out.sort(key=lambda s: (-s.total, s.department, s.name, s.person_id))
    ranks, grades = grade_all([s.total for s in out], [s.veto for s in out], rules)
    for standing, rank, g in zip(out, ranks, grades, strict=True):
        standing.rank = rank
        standing.grade = g.grade if period.annual else None
        standing.bonus_payout = g.payout
        standing.tie_flag = g.tie_flag if period.annual else False
    return out


def _exact(standing: Standing) -> str:
    """Every field, Decimals by their text too (14.5 and 14.50 would differ on screen)."""
    return repr(dataclasses.asdict(standing))


def check_standings(ctx: Context) -> Result:
    """compute_standings vs the oracle for the year, a half and two quarters."""
    ds = ctx.dataset
    year = ds.spec.year
    labels = [f"{year}", f"{year}H1", f"{year}Q3", f"{year}Q4"]
    engine = make_engine(ds.url)
    conn = sqlite3.connect(ds.path)
    problems: list[str] = []
    try:
        for label in labels:
            period = Period.parse(label)
            with Session(engine) as session:
                got = compute_standings(session, ctx.rules, period)
            want = oracle(conn, ctx.rules, period)
            if len(got) != len(want):
                problems.append(f"{label}: {len(got)} standings, expected {len(want)}")
                continue
            for n, (g, w) in enumerate(zip(got, want, strict=True)):
                if _exact(g) != _exact(w):
                    problems.append(f"{label} row {n}: {_exact(g)} != {_exact(w)}")
                    break
    finally:
        conn.close()
        engine.dispose()
    return {"check": "standings", "periods": labels, "identical": not problems,
            "problems": problems[:4]}  # fmt: skip
