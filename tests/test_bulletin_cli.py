"""`kaohe bulletin`, `kaohe jobs`, and the `final` key of `kaohe standings --json`."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.cli import standing_json
from fakes.telegram import FakeBotApi
from scoring import duties
from scoring.db import make_engine, transaction, upgrade
from scoring.models import PublicNotice
from scoring.periods import Period
from scoring.roster import import_roster
from scoring.rules import load_rules
from scoring.service import Service
from tests.harness import write_roster
from tests.helpers import cli_env, run_cli

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=TZ)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The test bureau's roster and a few H1 findings in a SQLite file."""
    path = tmp_path / "kaohe.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with transaction(engine) as s:
        import_roster(s, write_roster(tmp_path), rules=load_rules(), now=NOW, actor="test")
    service = Service(engine, load_rules())
    service.record_finding("冯科员 迟到", fact_date=date(2026, 3, 2), by="李督查", now=NOW)
    service.record_finding("张三 早退", fact_date=date(2026, 8, 3), by="李督查", now=NOW)
    engine.dispose()
    return path


def test_bulletin_prints_the_text_and_writes_chart_and_excel(db: Path, tmp_path: Path) -> None:
    run = run_cli("bulletin", "--period", "2026H1", db=db, cwd=tmp_path)
    assert run.code == 0, run.output
    assert "某某单位 2026年上半年考核测算通报" in run.stdout
    assert "<b>" not in run.stdout
    folder = tmp_path / "bulletin-2026H1"
    assert (folder / "kaohe-2026H1.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "kaohe-2026H1.xlsx").read_bytes().startswith(b"PK")
    assert str(folder) in run.stdout.replace("\n", "")


def test_bulletin_send_without_a_token_is_a_one_line_error(db: Path, tmp_path: Path) -> None:
    run = run_cli("bulletin", "--period", "2026H1", "--send", db=db, cwd=tmp_path)
    assert run.code == 1
    assert "KAOHE_BOT_TOKEN" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bulletin-2026H1").exists()


async def test_bulletin_send_posts_to_the_group_and_marks_the_duty_done(
    db: Path, tmp_path: Path
) -> None:
    async with FakeBotApi() as api:
        env = cli_env(db, {
            "KAOHE_BOT_TOKEN": "123456:TEST", "KAOHE_BOT_API_BASE_URL": api.base_url,
            "KAOHE_BOT_API_FILE_URL": api.file_url, "KAOHE_GROUP_CHAT_ID": "-100200",
        })  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "bulletin", "--period", "2026H1", "--send",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()
        methods = [c.method for c in api.sent(-100200)]
    assert methods == ["sendMessage", "sendPhoto", "sendDocument"]
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        assert duties.is_done(s, "bulletin:2026H1")  # the bot will not post it again
    engine.dispose()


def test_jobs_lists_every_kind_of_duty_with_its_time_and_state(db: Path, tmp_path: Path) -> None:
    run = run_cli("jobs", db=db, cwd=tmp_path)
    assert run.code == 0, run.output
    for key in ("reminder:", "spotcheck:", "notice:", "bulletin:", "proposals:", "review:"):
        assert run.stdout.count(key) == 2  # the latest one due and the next one
    assert "未到时间" in run.stdout and "机器人尚未运行过" in run.stdout


def test_standings_json_says_whether_the_period_is_final(db: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with transaction(engine) as s:  # Q3's notice posted and its window long closed
        s.add(PublicNotice(period="2026Q3", posted_at=datetime(2026, 10, 5, 10, tzinfo=TZ),
                           window_closes=date(2026, 10, 12)))  # fmt: skip
    engine.dispose()
    q3 = json.loads(
        run_cli("standings", "--period", "2026Q3", "--json", db=db, cwd=tmp_path).stdout
    )
    q4 = json.loads(
        run_cli("standings", "--period", "2026Q4", "--json", db=db, cwd=tmp_path).stdout
    )
    assert {row["final"] for row in q3} == {True}
    assert {row["final"] for row in q4} == {False}
    engine = make_engine(f"sqlite:///{db}")
    [first, *_] = Service(engine, load_rules()).standings(Period.parse("2026Q3"))
    engine.dispose()
    assert list(q3[0]) == [*standing_json(first), "final"]  # the other keys as they were
