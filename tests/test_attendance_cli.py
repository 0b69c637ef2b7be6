"""`kaohe attendance`: an office imports a monthly export, reviews the cards, and decides them."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from fakes.exports import dingtalk_xlsx
from tests.helpers import CliRun, run_cli

ROSTER_CSV = """姓名,科室,职务,人员类别,角色,分管科室
张三,办公室,科员,公务员,干部职工、督查员,
李四,执法监察科,科员,公务员,干部职工,
王五,执法监察科,科长,事业人员,干部职工,
刘洋,办公室,科员,公务员,,
刘洋,法规科,科员,公务员,,
钱七,法规科,科员,公务员,,
"""


def ok(run: CliRun) -> CliRun:
    assert run.code == 0, run.output
    return run


@pytest.fixture
def office(tmp_path: Path) -> tuple[Path, Path]:
    """A database with the roster, and March's 钉钉 export beside it."""
    db = tmp_path / "kaohe.db"
    ok(run_cli("init", db=db, cwd=tmp_path))
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER_CSV, "utf-8")
    ok(run_cli("roster", "import", str(roster), db=db, cwd=tmp_path))
    export = tmp_path / "考勤月度汇总.xlsx"
    export.write_bytes(dingtalk_xlsx())
    return db, export


def entries(db: Path) -> list[tuple[str, str, int, int, str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT p.name, e.item_code, e.count, e.points_cp, e.fact_date, e.source, e.evidence"
            " FROM entry e JOIN person p ON p.id = e.person_id ORDER BY e.id"
        ).fetchall()
    finally:
        conn.close()


def test_an_export_is_imported_once_reviewed_and_decided_from_the_cli(
    office: tuple[Path, Path],
) -> None:
    db, export = office
    folder = db.parent
    sha = hashlib.sha256(export.read_bytes()).hexdigest()
    first = ok(run_cli("attendance", "import", str(export), db=db, cwd=folder)).stdout
    assert f"2026-03 考勤,6 人,SHA-256 {sha}" in first
    assert "新的扣分建议 4 条" in first
    assert "#1 张三(办公室) 迟到 2次,扣 1 分" in first
    assert "#4 刘洋(法规科) 迟到 3次,扣 1.5 分" in first
    assert "第8行 赵六(综合科):花名册中没有此人" in first
    assert "第9行 王五(综合科):科室与花名册不符(花名册:执法监察科)" in first
    assert entries(db) == []

    again = ok(run_cli("attendance", "import", str(export), db=db, cwd=folder)).stdout
    assert "新的扣分建议 0 条" in again and "已提出过的建议 4 条,未重复提出" in again

    listed = ok(run_cli("attendance", "list", db=db, cwd=folder)).stdout
    assert "待确认的考勤扣分建议(4 条)" in listed and "刘洋(法规科)" in listed

    confirmed = ok(run_cli("attendance", "confirm", "1", db=db, cwd=folder)).stdout
    assert "#1 已记录 #1:张三(办公室) 迟到 2次,扣 1 分" in confirmed
    dismissed = ok(run_cli("attendance", "dismiss", "2", db=db, cwd=folder)).stdout
    assert "#2 已驳回:李四(执法监察科) 旷工 1天" in dismissed
    ok(run_cli("attendance", "confirm", "all", db=db, cwd=folder))
    assert entries(db) == [
        ("张三", "daily_late", 2, 100, "2026-03-31", "attendance", sha),
        ("李四", "daily_early", 1, 50, "2026-03-31", "attendance", sha),
        ("刘洋", "daily_late", 3, 150, "2026-03-31", "attendance", sha),
    ]
    assert "没有待确认的考勤扣分建议" in ok(run_cli("attendance", "list", db=db, cwd=folder)).stdout

    twice = run_cli("attendance", "confirm", "1", db=db, cwd=folder)
    assert twice.code == 1 and "已确认记录" in twice.stderr
    wrong = run_cli("attendance", "confirm", "张三", db=db, cwd=folder)
    assert wrong.code == 1 and "不是建议编号" in wrong.stderr
    missing = run_cli("attendance", "import", str(folder / "无此文件.xlsx"), db=db, cwd=folder)
    assert missing.code == 1 and "找不到文件" in missing.stderr
