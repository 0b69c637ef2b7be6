"""Annual standings on PostgreSQL at district scale against SQLite's on the same data, in the
same run: the generated SQLite data set is copied into a fresh PostgreSQL database (COPY),
then ``compute_standings`` is timed on both. Goal: PostgreSQL within 3× SQLite.

The server is the one `make test` uses (``KAOHE_TEST_POSTGRES_URL``, or ``.ci/postgres``
started by `make bench`); without one the line says it was skipped and why.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from bench.registry import Context, Result, best_of, register
from scoring.db import make_engine, upgrade
from scoring.periods import Period
from scoring.standings import compute_standings

GOAL_RATIO = 3.0
DATABASE = "kaohe_bench"


def _fresh_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


def _copy(sqlite_path: str, engine: Engine) -> int:
    """Every table's rows from the SQLite file into PostgreSQL (COPY); rows copied."""
    src = sqlite3.connect(sqlite_path)
    copied = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "data_version":  # made by the migrations, a version of its own
                continue
            columns = [c.name for c in table.columns]
            names = ", ".join(f'"{c}"' for c in columns)
            rows = src.execute(f'SELECT {names} FROM "{table.name}"')
            bools = [i for i, c in enumerate(table.columns) if c.type.python_type is bool]
            with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    values = list(row)
                    for i in bools:
                        values[i] = None if values[i] is None else bool(values[i])
                    copy.write_row(values)
                    copied += 1
        raw.commit()
    finally:
        raw.close()
        src.close()
    return copied


@register("postgres")
def postgres(ctx: Context) -> Iterator[Result]:
    """standings_annual_postgres: compute_standings on PostgreSQL vs on SQLite, same data."""
    server = os.environ.get("KAOHE_TEST_POSTGRES_URL", "")
    if not server:
        yield {"bench": "standings_annual_postgres", "skipped": "no PostgreSQL server"}
        return
    ds = ctx.dataset
    period = Period.parse(str(ds.spec.year))
    pg = make_engine(_fresh_database(server))
    lite = make_engine(ds.url)
    try:
        upgrade(pg)
        ctx.log("postgres: copying the data set into PostgreSQL")
        copied = _copy(str(ds.path), pg)
        with pg.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

        def on(engine: Engine) -> list[object]:
            with Session(engine) as session:
                return list(compute_standings(session, ctx.rules, period))

        assert on(pg) == on(lite), "PostgreSQL and SQLite disagree"
        seconds = best_of(lambda: on(pg), ctx.reps)
        baseline = best_of(lambda: on(lite), ctx.reps)
    finally:
        pg.dispose()
        lite.dispose()
    yield {
        "bench": "standings_annual_postgres",
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 3),
        "ok": seconds <= GOAL_RATIO * baseline,
        "entries": ds.counts.get("entry", 0),
        "rows_copied": copied,
        "reps": ctx.reps,
    }
