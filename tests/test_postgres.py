"""The same ledger on PostgreSQL: nothing in the core is SQLite-only.

`make test` starts a throwaway PostgreSQL (.ci/postgres) and passes its URL as
KAOHE_TEST_POSTGRES_URL; without one these tests are skipped, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from scoring.db import make_engine, upgrade
from scoring.errors import UnknownPerson
from scoring.periods import Period
from scoring.rules import Rules, load_rules
from scoring.service import Service
from tests.helpers import NOW

PG_URL = os.environ.get("KAOHE_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not PG_URL, reason="no PostgreSQL (KAOHE_TEST_POSTGRES_URL)")

ROSTER = """姓名,科室,职务,人员类别,角色,分管科室,职级
张三,办公室,科员,公务员,干部职工,,
李四,办公室,主任,公务员,督查员、干部职工,,正科级
王五,执法监察科,科长,公务员,干部职工,,正科级
赵六,执法监察科,科员,事业人员,干部职工,,
张三,执法监察科,科员,公务员,干部职工,,
陈局,局领导,副局长,公务员,分管领导,执法监察科;办公室,副处级
"""


@contextmanager
def fresh_database(prefix: str = "kaohe_test") -> Iterator[str]:
    """The URL of a new PostgreSQL database on the test server, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with fresh_database() as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _play(service: Service, roster: Path) -> list[tuple[object, ...]]:
    """A bureau's half year, then its standings as comparable rows."""
    service.import_roster(roster, now=NOW, actor="t")
    record = service.record_finding
    record("李四 迟到", fact_date=date(2026, 3, 2), by="督查", now=NOW)
    record("张三(办公室) 旷工两天", fact_date=date(2026, 3, 3), by="督查", now=NOW)
    record("执法监察科 未制定季度执法计划", fact_date=date(2026, 4, 1), by="督查", now=NOW)
    _, duty = record(
        "带班:陈局 值班:李四、赵六 信息不灵", fact_date=date(2026, 5, 1), by="督查", now=NOW
    )
    service.add_bonus(target="执法监察科", kind="award", level="省级", title="先进集体",
                      fact_date=date(2026, 6, 1), by="t", now=NOW)  # fmt: skip
    for level in ("市级", "省级"):
        service.add_bonus(target="李四", kind="article", level=level, title="稿件A",
                          fact_date=date(2026, 6, 2), by="t", now=NOW)  # fmt: skip
    service.add_veto("王五", reason="拒不服从", fact_date=date(2026, 5, 1), by="t", now=NOW)
    service.revoke(duty.entry_ids[0], reason="误记", by="t", now=NOW)
    with pytest.raises(UnknownPerson):
        record("李斯 迟到", fact_date=date(2026, 3, 2), by="督查", now=NOW)
    return [
        (s.name, s.department, s.total, s.bonus, s.rank, s.grade, s.veto, s.bonus_payout,
         s.tie_flag, tuple((c.deducted, c.score) for c in s.categories.values()))
        for s in service.standings(Period.parse("2026"))
    ]  # fmt: skip


def test_postgres_gives_the_same_standings_as_sqlite(
    pg_engine: Engine, engine: Engine, rules: Rules, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    upgrade(pg_engine)
    upgrade(pg_engine)  # kaohe init is idempotent there too
    on_postgres = _play(Service(pg_engine, rules), roster)
    on_sqlite = _play(Service(engine, rules), roster)
    assert on_postgres == on_sqlite
    by_name = {(row[0], row[1]): row for row in on_postgres}
    assert by_name[("王五", "执法监察科")][5] == "基本称职"  # vetoed
    assert by_name[("李四", "办公室")][3] == 3  # same article at 市级 and 省级 counts once


def test_a_secret_vote_counts_the_same_on_postgres(
    pg_engine: Engine, rules: Rules, tmp_path: Path
) -> None:
    from datetime import datetime

    from sqlmodel import Session, select

    from scoring import review, vote
    from scoring.models import Person, ReviewDraft
    from scoring.roster import import_roster

    now = datetime(2026, 12, 28, 9, 0, tzinfo=NOW.tzinfo)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER.replace("张三,执法监察科,科员,公务员,干部职工,,\n", ""), "utf-8")
    upgrade(pg_engine)
    with Session(pg_engine) as s:
        import_roster(s, roster, rules=load_rules(), now=now, actor="t")
        ids = {p.name: p.id or 0 for p in s.exec(select(Person)).all()}
        vote.open_vote(s, rules, 2026, closes_on=None, by="t", now=now)
        # five people: 李四 rates 王五 优秀, the other three 称职; every other rating 称职
        for voter, pid in ids.items():
            for colleague, _ in vote.ballot(s, rules, 2026, pid, now=now).rows:
                level = 0 if (voter, colleague.name) == ("李四", "王五") else 1
                vote.rate(s, rules, 2026, pid, colleague.id, level, now=now)
            vote.submit_ballot(s, rules, 2026, pid, now=now)
            s.commit()  # a ballot a transaction, as in the chat
        r = vote.close_vote(s, rules, 2026, by="t", now=now)
        s.commit()
        assert s.exec(select(ReviewDraft)).all() == []
        assert review.parts_of(s, 2026, ids["王五"]) == {"report": Decimal("8.5")}  # 34 / 4
        assert r.distribution == (1, 19, 0, 0)  # five ballots of four
        # the last ballot rewrote every row: no row's last writer (xmin) tells ballots apart
        for table in ("vote_roll", "vote_tally"):
            writers = s.execute(text(f"SELECT DISTINCT xmin::text FROM {table}")).all()
            assert len(writers) == 1, table


def test_the_bot_on_postgres_handles_an_event_once_serves_exact_standings_and_pages(
    pg_engine: Engine, rules: Rules, tmp_path: Path
) -> None:
    from sqlmodel import Session, select

    from scoring.ledger import person_entries
    from scoring.models import Entry, Person
    from scoring.standings import StandingsCache, compute_standings
    from usecases import findings
    from usecases.core import Event, UseCases

    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    upgrade(pg_engine)
    cli = Service(pg_engine, rules)
    cli.import_roster(roster, now=NOW, actor="t")
    with Session(pg_engine) as s:
        inspector = s.exec(select(Person).where(Person.name == "李四")).one()
        inspector.telegram_user_id = 1002
        s.add(inspector)
        s.commit()
    bot = UseCases(pg_engine, rules)
    card = bot.call(Event("tg", "1002", "tg:1", NOW), findings.record_finding, "赵六 迟到")
    card_id = int(card.out[0].say.actions[0][0].args[0])
    assert not bot.call(
        Event("tg", "1002", "tg:2", NOW), findings.confirm_finding, card_id
    ).duplicate
    assert bot.call(Event("tg", "1002", "tg:2", NOW), findings.confirm_finding, card_id).duplicate
    year, cache = Period.parse("2026"), StandingsCache()
    with Session(pg_engine) as s:
        cache(s, rules, year)
    for day in (3, 4, 5):
        cli.record_finding("赵六 早退", fact_date=date(2026, 3, day), by="督查", now=NOW)
    with Session(pg_engine) as s:
        assert cache(s, rules, year) == compute_standings(s, rules, year)
        zhao = s.exec(select(Entry.person_id).where(Entry.kind == "deduction")).first()
        assert zhao is not None
        page = person_entries(s, rules, year, zhao, offset=1, limit=2)
        assert [(e.fact_date.month, e.fact_date.day) for e in page] == [(3, 4), (3, 5)]
