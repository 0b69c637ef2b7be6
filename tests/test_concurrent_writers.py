"""Writers racing each other, on SQLite and PostgreSQL: every check-then-write holds.

The CLI races run `kaohe` as parallel processes, as people at two desks (or a script) would;
the rest race threads of one process, each with its own connection, lined up by a barrier.
PostgreSQL runs where KAOHE_TEST_POSTGRES_URL is set (see tests/test_postgres.py).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

from scoring import claims, duties, findings
from scoring.accounts import Account, account_for
from scoring.db import make_engine, transaction, upgrade
from scoring.errors import Conflict
from scoring.models import Entry, Person
from scoring.rules import Rules
from tests.helpers import NOW, CliCall, CliRun, add_person, run_cli, run_cli_many

PG_URL = os.environ.get("KAOHE_TEST_POSTGRES_URL", "")
T = TypeVar("T")
RACERS = 10
ROSTER = """姓名,科室,职务,人员类别,角色,分管科室
张三,办公室,科员,公务员,干部职工,
李四,办公室,科员,公务员,干部职工,
王五,执法监察科,科员,公务员,干部职工,
"""


@dataclass(frozen=True)
class Database:
    """A fresh database: its URL, and how `kaohe` is pointed at it."""

    url: str
    folder: Path

    def cli(self, *args: str) -> CliCall:
        return CliCall(args, None, self.folder, (("KAOHE_DATABASE_URL", self.url),))

    def run(self, *args: str) -> CliRun:
        return run_cli(*args, db=None, cwd=self.folder, env={"KAOHE_DATABASE_URL": self.url})

    def count(self, sql: str) -> int:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each engine (PostgreSQL: our own, dropped afterwards)."""
    if request.param == "sqlite":
        yield Database(f"sqlite:///{tmp_path / 'kaohe.db'}", tmp_path)
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL (KAOHE_TEST_POSTGRES_URL)")
    name = f"kaohe_hardening_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        yield Database(url, tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def bureau(database: Database) -> Database:
    """The database after `kaohe init` and the roster import."""
    roster = database.folder / "roster.csv"
    roster.write_text(ROSTER, "utf-8")
    for args in (("init",), ("roster", "import", str(roster))):
        run = database.run(*args)
        assert run.code == 0, run.output
    return database


def one_line(run: CliRun) -> str:
    assert "Traceback" not in run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1, run.output
    return lines[0]


# ------------------------------------------------------------------ the CLI, as processes
def test_a_new_database_initialised_by_five_processes_at_once_is_migrated_once(
    database: Database,
) -> None:
    runs = run_cli_many([database.cli("init")] * 5)
    assert [r.code for r in runs] == [0] * 5, [r.output for r in runs]
    assert database.count("SELECT count(*) FROM alembic_version") == 1


def test_a_new_database_is_migrated_in_one_transaction_under_the_write_lock(
    tmp_path: Path,
) -> None:
    # Alembic commits after each SQLite migration by default: a second process could read
    # the old head between two of them and run the next one again ("duplicate column")
    engine = make_engine(f"sqlite:///{tmp_path / 'kaohe.db'}")
    commits: list[str] = []
    event.listen(engine, "commit", lambda conn: commits.append("commit"))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    assert commits == ["commit"]


def test_a_once_a_year_item_recorded_by_ten_processes_at_once_is_recorded_once(
    bureau: Database,
) -> None:
    # a race is lost or won by timing: two rounds, each with ten processes
    for name in ("张三", "李四"):
        finding = f"{name} 笔记不足一万字"
        calls = [bureau.cli("record", finding, "--date", "2026-12-20")] * RACERS
        runs = run_cli_many(calls)
        assert sorted(r.code for r in runs) == [0] + [1] * (RACERS - 1), [r.output for r in runs]
        for run in runs:
            if run.code:
                assert "每年最多扣 1 年" in one_line(run)
    recorded = bureau.count("SELECT count(*) FROM entry WHERE item_code = 'study_notes_short'")
    assert recorded == 2


def test_an_entry_revoked_by_ten_processes_at_once_is_revoked_once(bureau: Database) -> None:
    first = bureau.run("record", "张三 迟到", "--date", "2026-03-02")
    assert first.code == 0, first.output
    entry_id = first.stdout.split("#")[1].split()[0]
    runs = run_cli_many([bureau.cli("revoke", entry_id, "--reason", "误记")] * RACERS)
    assert sorted(r.code for r in runs) == [0] + [1] * (RACERS - 1), [r.output for r in runs]
    for run in runs:
        if run.code:
            assert f"记录 {entry_id} 已" in one_line(run) and "被撤销" in run.output
    assert bureau.count("SELECT count(*) FROM entry WHERE kind = 'revocation'") == 1


# ------------------------------------------------------------------ the core, as threads
def race(engine: Engine, n: int, work: Callable[[Session, int], T]) -> list[T | Exception]:
    """Run work(session, i) in n threads at once, each in its own transaction."""
    barrier = threading.Barrier(n)
    results: list[T | Exception] = [Exception("not run")] * n

    def one(i: int) -> None:
        barrier.wait()
        try:
            with transaction(engine) as s:
                results[i] = work(s, i)
        except Exception as exc:  # collected: the test says which errors are right
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def engine(bureau: Database) -> Iterator[Engine]:
    """The product's engine on the raced database."""
    eng = make_engine(bureau.url)
    upgrade(eng)
    yield eng
    eng.dispose()


def bound(engine: Engine, name: str, telegram_id: int, **kw: object) -> Account:
    with transaction(engine) as s:
        person = s.exec(select(Person).where(Person.name == name)).first()
        if person is None:
            person = s.get(Person, add_person(s, name, "局领导", **kw))  # type: ignore[arg-type]
        assert person is not None
        person.telegram_user_id = telegram_id
        s.add(person)
        s.flush()
        account = account_for(s, "tg", telegram_id)
        assert account is not None
        return account


def losers(results: list[T | Exception]) -> list[Exception]:
    """Every result but the one winner, which must be the only non-error."""
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1, results
    return [r for r in results if isinstance(r, Exception)]


def test_a_finding_card_confirmed_from_several_chats_at_once_is_recorded_once(
    engine: Engine, rules: Rules
) -> None:
    inspector = bound(engine, "李四", 9001)
    with transaction(engine) as s:
        card = findings.open_finding(s, rules, "张三 迟到", recorder=inspector,
                                     fact_date=date(2026, 3, 2), evidence="", now=NOW)  # fmt: skip

    def confirm(s: Session, i: int) -> object:
        return findings.confirm_finding(s, rules, card.card_id, by=inspector, now=NOW)

    for lost in losers(race(engine, RACERS, confirm)):
        assert isinstance(lost, Conflict) and "已经确认过了" in lost.message
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Entry)).one() == 1


def test_a_claim_decided_by_two_leaders_at_once_is_decided_once(
    engine: Engine, rules: Rules
) -> None:
    claimant = bound(engine, "张三", 9002)
    leaders = [bound(engine, f"组长{i}", 9100 + i, roles="考核领导小组") for i in range(RACERS)]
    with transaction(engine) as s:
        claim = claims.open_claim(s, rules, claimant=claimant, kind="award", level="市级",
                                  title="先进个人", evidence="AgAC", evidence_type="photo",
                                  fact_date=date(2026, 5, 1), now=NOW)  # fmt: skip

    def decide(s: Session, i: int) -> object:
        if i % 2:
            return claims.reject_claim(s, rules, claim.card_id, reason="证据不足", by=leaders[i],
                                       now=NOW)  # fmt: skip
        return claims.approve_claim(s, rules, claim.card_id, by=leaders[i], now=NOW)

    for lost in losers(race(engine, RACERS, decide)):
        assert isinstance(lost, Conflict), lost
    with Session(engine) as s:
        bonuses = s.exec(select(func.count()).select_from(Entry).where(Entry.kind == "bonus"))
        assert bonuses.one() in (0, 1)


def test_a_duty_finished_by_two_processes_at_once_is_done_once(engine: Engine) -> None:
    done = race(engine, RACERS, lambda s, i: duties.mark_done(s, "notice:2026Q1", now=NOW))
    assert sorted(done, key=str) == [False] * (RACERS - 1) + [True], done


def test_parts_of_a_duty_sent_by_two_processes_at_once_are_all_noted(engine: Engine) -> None:
    names = [f"chat{i}" for i in range(RACERS)]
    sent = race(engine, RACERS, lambda s, i: duties.add_part(s, "notice:2026Q1", names[i], now=NOW))
    assert sent == [None] * RACERS, sent
    with Session(engine) as s:
        assert duties.parts_done(s, "notice:2026Q1") == set(names)
