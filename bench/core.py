"""The scoring core: annual standings against a bare SQL aggregate on the same file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlmodel import Session

from bench.registry import Context, Result, best_of, register
from scoring.db import make_engine
from scoring.periods import Period
from scoring.standings import Standing, compute_standings

GOAL_SECONDS = 1.0  # the goal: under a second, and at most twice the bare aggregate
GOAL_RATIO = 2.0
BASELINE_SQL = "SELECT person_id, category, SUM(points_cp) FROM entry GROUP BY person_id, category"


@register("core")
def core(ctx: Context) -> Iterator[Result]:
    """standings_annual: compute_standings for the whole year vs the plain GROUP BY."""
    ds = ctx.dataset
    period = Period.parse(str(ds.spec.year))
    engine = make_engine(ds.url)
    conn = sqlite3.connect(ds.path)
    try:

        def standings() -> list[Standing]:
            with Session(engine) as session:
                return compute_standings(session, ctx.rules, period)

        def baseline() -> list[tuple[int, str, int]]:
            return conn.execute(BASELINE_SQL).fetchall()

        people = len(standings())  # warm both: page cache, statement caches
        groups = len(baseline())
        seconds = best_of(standings, ctx.reps)
        baseline_seconds = best_of(baseline, ctx.reps)
    finally:
        conn.close()
        engine.dispose()
    yield {
        "bench": "standings_annual",
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline_seconds, 4),
        "ratio": round(seconds / baseline_seconds, 3),
        "ok": seconds <= GOAL_SECONDS and seconds <= GOAL_RATIO * baseline_seconds,
        "people": people,
        "entries": ds.counts.get("entry", 0),
        "baseline_rows": groups,
        "reps": ctx.reps,
    }
