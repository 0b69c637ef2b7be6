"""Standings computed once per change of the ledger: the cache always gives exactly what a
fresh computation gives, whoever changed the ledger, in whichever process, by whichever
path; the roster's directory follows the roster the same way."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from scoring.db import make_engine, transaction, upgrade
from scoring.directory import directory
from scoring.errors import Conflict
from scoring.ledger import check_year_open
from scoring.models import Person, YearLock
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from scoring.standings import Standing, StandingsCache, compute_standings
from scoring.versions import LEDGER, ROSTER, versions
from tests.harness import ROSTER as ROSTER_CSV
from tests.harness import TZ, write_roster
from usecases import findings
from usecases.core import Event, UseCases

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
PERIODS = [Period.parse(p) for p in ("2026", "2026H1", "2026Q1", "2026Q2")]


@pytest.fixture
def two_processes(tmp_path: Path, rules: Rules) -> Iterator[tuple[UseCases, Service]]:
    """The bot's use cases and the CLI's service: two engines on one database file, as two
    processes would have."""
    url = f"sqlite:///{tmp_path / 'kaohe.db'}"
    bot_engine, cli_engine = make_engine(url), make_engine(url)
    upgrade(cli_engine)
    cli = Service(cli_engine, rules)
    cli.import_roster(write_roster(tmp_path, ROSTER_CSV), now=NOW, actor="test")
    with transaction(cli_engine) as s:
        inspector = s.exec(select(Person).where(Person.name == "李督查")).one()
        inspector.telegram_user_id = 1002
        s.add(inspector)
    yield UseCases(bot_engine, rules), cli
    bot_engine.dispose()
    cli_engine.dispose()


def exact(rows: list[Standing]) -> list[str]:
    """Every field of every row, Decimals by their text too."""
    return [repr(dataclasses.asdict(s)) for s in rows]


def test_the_cache_gives_a_fresh_computation_after_every_kind_of_change(
    two_processes: tuple[UseCases, Service], rules: Rules, tmp_path: Path
) -> None:
    bot, cli = two_processes
    cache = StandingsCache()

    def same_as_fresh(what: str) -> None:
        for period in PERIODS:
            with bot.session() as s:
                cached = cache(s, rules, period)
            with bot.session() as s:
                fresh = compute_standings(s, rules, period)
            assert exact(cached) == exact(fresh), f"{what}, {period.label}"

    day = date(2026, 2, 10)
    changes: list[tuple[str, Callable[[], object]]] = [
        ("record", lambda: cli.record_finding("冯科员 迟到", fact_date=day, by="t", now=NOW)),
        ("record a department", lambda: cli.record_finding(
            "执法监察科 未制定季度执法计划", fact_date=date(2026, 4, 3), by="t", now=NOW)),
        ("revoke", lambda: cli.revoke(1, reason="误记", by="t", now=NOW)),
        ("bonus", lambda: cli.add_bonus(
            target="王五", kind="article", level="区级", title="一篇", fact_date=day, by="t",
            now=NOW)),
        ("department bonus", lambda: cli.add_bonus(
            target="执法监察科", kind="award", level="市级", title="先进集体", fact_date=day,
            by="t", now=NOW)),
        ("veto", lambda: cli.add_veto("张三", reason="违纪", fact_date=day, by="t", now=NOW)),
        ("unveto", lambda: cli.revoke_veto(1, reason="复核", by="t", now=NOW)),
        ("review import", lambda: cli.import_reviews(
            _reviews(tmp_path), year=2026, now=NOW, actor="t")),
        ("roster change", lambda: cli.import_roster(
            write_roster(tmp_path, _changed_roster()), now=NOW, actor="t")),
        ("finding confirmed in the bot", lambda: _confirm_in_the_bot(bot, "李四 早退")),
        ("year finalized", lambda: _finalize(cli)),
    ]  # fmt: skip
    same_as_fresh("before any change")
    for what, change in changes:
        with bot.session() as s:
            before = versions(s)[LEDGER]
            kept = cache(s, rules, PERIODS[0])
        with bot.session() as s:
            assert cache(s, rules, PERIODS[0])[0] is kept[0], "unchanged: from memory"
        change()
        with bot.session() as s:
            assert versions(s)[LEDGER] != before, what
        same_as_fresh(what)


def _reviews(tmp: Path) -> Path:
    path = tmp / "reviews.csv"
    path.write_text(
        "姓名,述职,分管领导评分,班子评议\n冯科员,9,4.5,4\n王五,8,4,3.5\n", encoding="utf-8"
    )
    return path


def _changed_roster() -> str:
    """王五 has left (离岗), 冯科员 changed rank, and someone new joined."""
    header, *rows = ROSTER_CSV.strip().splitlines()
    changed = {
        "王五": "王五,法规科,科员,公务员,干部职工,,,离岗",
        "冯科员": "冯科员,办公室,科员,公务员,干部职工,,一级科员,在岗",
    }
    body = [changed.get(row.split(",")[0], row + ",在岗") for row in rows]
    return "\n".join([header + ",状态", *body, "新同志,法规科,科员,公务员,干部职工,,,在岗"]) + "\n"


def _confirm_in_the_bot(bot: UseCases, text: str) -> None:
    card = bot.call(Event("tg", "1002", "tg:1", NOW), findings.record_finding, text)
    card_id = int(card.out[0].say.actions[0][0].args[0])
    bot.call(Event("tg", "1002", "tg:2", NOW), findings.confirm_finding, card_id)


def _finalize(cli: Service) -> None:
    """The year locked, as /finalize locks it once every review mark is in."""
    with transaction(cli.engine) as s:
        s.add(YearLock(year=2026, locked_at=datetime(2027, 1, 20, tzinfo=TZ), locked_by="t"))


def test_a_transaction_that_changed_the_ledger_is_never_served_nor_remembered(
    engine: Engine, rules: Rules, tmp_path: Path
) -> None:
    service = Service(engine, rules)
    service.import_roster(write_roster(tmp_path, ROSTER_CSV), now=NOW, actor="test")
    cache, year = StandingsCache(), PERIODS[0]
    with Session(engine) as s:
        before = exact(cache(s, rules, year))
    with Session(engine) as s:
        feng = s.exec(select(Person).where(Person.name == "冯科员")).one()
        feng.rank = "一级科员"
        s.add(feng)
        inside = exact(cache(s, rules, year))
        assert inside == exact(compute_standings(s, rules, year)) != before
        s.rollback()
    with Session(engine) as s:
        assert exact(cache(s, rules, year)) == before


def test_bulk_statements_on_a_covered_table_change_the_versions(engine: Engine) -> None:
    with Session(engine) as s:
        seen = dict(versions(s))
    with transaction(engine) as s:
        s.execute(update(Person).values(rank="一级科员"))
    with Session(engine) as s:
        now = versions(s)
        assert now[LEDGER] != seen[LEDGER] and now[ROSTER] != seen[ROSTER]


def test_the_directory_follows_the_roster_and_not_the_ledger(
    two_processes: tuple[UseCases, Service], tmp_path: Path
) -> None:
    bot, cli = two_processes
    with bot.session() as s:
        first = directory(s)
        assert [p.label for p in first.named["王五"]] == ["王五(法规科)"]
    cli.record_finding("王五 迟到", fact_date=date(2026, 2, 10), by="t", now=NOW)
    with bot.session() as s:
        assert directory(s) is first, "a finding leaves the roster as it was"
    cli.import_roster(write_roster(tmp_path, _changed_roster()), now=NOW, actor="t")
    with bot.session() as s:
        again = directory(s)
        assert again is not first
        assert "王五" not in again.named and "新同志" in again.named
    _finalize(cli)
    with bot.session() as s, pytest.raises(Conflict):
        check_year_open(s, 2026)
