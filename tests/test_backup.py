"""`kaohe backup` and `kaohe restore` on SQLite, and the pg_dump/pg_restore recipe on PostgreSQL.

A backup taken while the ledger is written holds what is still in the write-ahead log (a
plain copy of the file loses it); a restore checks the file, refuses to overwrite a newer
database without --force, and gives back the standings the backup was taken with.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from scoring.db import make_engine, upgrade
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from tests.helpers import NOW, run_cli
from tests.test_postgres import PG_URL, ROSTER, _play, fresh_database


@pytest.fixture
def bureau_db(tmp_path: Path, rules: Rules) -> Iterator[tuple[Path, Service]]:
    """A bureau's half year in a SQLite file, its engine still open (as the bot keeps it)."""
    db = tmp_path / "data" / "kaohe.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    service = Service(engine, rules)
    _play(service, roster)
    yield db, service
    engine.dispose()


def _standings(engine: Engine, rules: Rules) -> list[tuple[object, ...]]:
    return [
        (s.name, s.department, s.total, s.bonus, s.rank, s.grade, s.veto, s.bonus_payout)
        for s in Service(engine, rules).standings(Period.parse("2026"))
    ]


def _backup(db: Path, name: str) -> Path:
    """`kaohe backup` of ``db`` into a file beside its folder."""
    target = db.parent.parent / name
    made = run_cli("backup", str(target), db=db, cwd=db.parent.parent)
    assert made.code == 0, made.output
    return target


def _entries(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM entry").fetchone()[0])
    finally:
        conn.close()


def test_a_backup_holds_what_is_still_in_the_wal_and_a_file_copy_loses_it(
    bureau_db: tuple[Path, Service], tmp_path: Path
) -> None:
    db, service = bureau_db
    reader = sqlite3.connect(db)  # another connection open: SQLite does not fold the WAL
    reader.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for name in ("李四", "赵六"):
        service.record_finding(f"{name} 早退", fact_date=date(2026, 6, 3), by="督查", now=NOW)
    assert Path(f"{db}-wal").stat().st_size > 0
    in_ledger = _entries(db)

    plain = tmp_path / "cp" / "kaohe.db"
    plain.parent.mkdir()
    shutil.copy(db, plain)  # what `cp data/kaohe.db` gives
    made = run_cli("backup", str(tmp_path / "nightly" / "kaohe.db"), db=db, cwd=tmp_path)
    reader.close()

    assert made.code == 0, made.output
    assert "已备份到" in made.stdout
    assert _entries(plain) == in_ledger - 2
    assert _entries(tmp_path / "nightly" / "kaohe.db") == in_ledger
    assert not Path(f"{tmp_path / 'nightly' / 'kaohe.db'}-wal").exists()  # one file


def test_restore_gives_back_the_standings_and_refuses_a_newer_database_without_force(
    bureau_db: tuple[Path, Service], tmp_path: Path, rules: Rules
) -> None:
    db, service = bureau_db
    before = _standings(service.engine, rules)
    saved = _backup(db, "kaohe-backup.db")
    service.record_finding("李四 旷工两天", fact_date=date(2026, 6, 4), by="督查", now=NOW)
    assert _standings(service.engine, rules) != before

    refused = run_cli("restore", str(saved), db=db, cwd=tmp_path)
    assert refused.code == 1
    assert "当前数据库比备份新" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.output
    assert _standings(service.engine, rules) != before  # nothing was touched

    forced = run_cli("restore", str(saved), "--force", db=db, cwd=tmp_path)
    assert forced.code == 0, forced.output
    assert _standings(service.engine, rules) == before  # the running engine sees it too


def test_restore_into_a_new_place_needs_no_force(
    bureau_db: tuple[Path, Service], tmp_path: Path, rules: Rules
) -> None:
    db, service = bureau_db
    saved = _backup(db, "kaohe-backup.db")
    fresh = tmp_path / "new-server" / "kaohe.db"
    done = run_cli("restore", str(saved), db=fresh, cwd=tmp_path)
    assert done.code == 0, done.output
    engine = make_engine(f"sqlite:///{fresh}")
    try:
        assert _standings(engine, rules) == _standings(service.engine, rules)
    finally:
        engine.dispose()


def test_restore_refuses_a_damaged_file_or_one_from_a_newer_version(
    bureau_db: tuple[Path, Service], tmp_path: Path, rules: Rules
) -> None:
    db, service = bureau_db
    before = _standings(service.engine, rules)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    damaged = _backup(db, "damaged.db")
    with damaged.open("r+b") as f:  # scribble over the pages after the first
        f.seek(4096 * 2)
        f.write(os.urandom(4096 * 3))
    future = _backup(db, "future.db")
    conn = sqlite3.connect(future)
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.commit()
    conn.close()

    for bad, says in ((garbage, "不是可用的"), (damaged, ""), (future, "更新的考核助手")):
        run = run_cli("restore", str(bad), "--force", db=db, cwd=tmp_path)
        assert run.code == 1, run.output
        assert says in run.stderr and "Traceback" not in run.output
    assert _standings(service.engine, rules) == before


def test_backup_of_a_postgres_database_points_to_pg_dump(tmp_path: Path) -> None:
    run = run_cli(
        "backup", str(tmp_path / "b.db"), db=None, cwd=tmp_path,
        env={"KAOHE_DATABASE_URL": "postgresql+psycopg://kaohe@127.0.0.1:1/kaohe"},
    )  # fmt: skip
    assert run.code == 1
    assert "pg_dump" in run.stderr and "Traceback" not in run.output


# ------------------------------------------------------------------ PostgreSQL: the recipe
def _pg_bin(tool: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=lambda p: p.parts[-3])
    return str(found[-1]) if found else shutil.which(tool)


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump/pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL (KAOHE_TEST_POSTGRES_URL)")
def test_pg_dump_and_pg_restore_as_the_readme_says_give_back_the_standings(
    tmp_path: Path, rules: Rules
) -> None:
    pg_dump, pg_restore = _pg_bin("pg_dump"), _pg_bin("pg_restore")
    if pg_dump is None or pg_restore is None:
        pytest.skip("no pg_dump/pg_restore (Debian: postgresql-client)")
    with fresh_database("kaohe_backup") as first, fresh_database("kaohe_restored") as second:
        source, target = make_engine(first), make_engine(second)
        try:
            upgrade(source)
            roster = tmp_path / "roster.csv"
            roster.write_text(ROSTER, encoding="utf-8")
            _play(Service(source, rules), roster)
            dump = tmp_path / "kaohe.dump"
            # the README's recipe: pg_dump -Fc … -f FILE; pg_restore --clean --if-exists …
            subprocess.run([pg_dump, "-Fc", "-d", _libpq(first), "-f", str(dump)], check=True,
                           timeout=120)  # fmt: skip
            subprocess.run(
                [pg_restore, "--clean", "--if-exists", "--no-owner", "-d", _libpq(second),
                 str(dump)],
                check=True, timeout=120,
            )  # fmt: skip
            assert _standings(target, rules) == _standings(source, rules)
            assert _standings(target, rules)
        finally:
            source.dispose()
            target.dispose()
