"""The `kaohe` CLI contract, run as a subprocess on a temporary SQLite file."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.helpers import CliCall, CliRun, dump_sqlite, run_cli, run_cli_many

ROSTER_CSV = """姓名,科室,职务,人员类别,角色,分管科室,职级
张三,办公室,科员,公务员,干部职工、督查员,,一级科员
李四,执法监察科,科员,公务员,干部职工,,
王五,执法监察科,科长,事业人员,干部职工,,
赵局,局领导,副局长,公务员,分管领导;考核领导小组,执法监察科,
钱七,法规科,科员,公务员,,,
刘洋,办公室,科员,公务员,,,
刘洋,法规科,科员,公务员,,,
"""

REVIEWS_CSV = """姓名,科室,述职,分管领导评分,班子评议
张三,,10,5,5
李四,,9,4,4
王五,,8,4,4
赵局,,10,5,5
刘洋,办公室,7,3,3
"""

CATEGORY_CODES = {"study", "business", "central", "daily", "review"}
CONTRACT_FIELDS = {
    "name",
    "department",
    "categories",
    "bonus",
    "total",
    "rank",
    "grade",
    "veto",
    "bonus_payout",
    "tie_flag",
}


def copy_db(src: Path, folder: Path) -> Path:
    """A copy of a SQLite database (with any WAL beside it) in its own folder."""
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / src.name
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return dst


def ok(run: CliRun) -> CliRun:
    assert run.code == 0, run.output
    assert "Traceback" not in run.output
    return run


def ids_in(run: CliRun) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+)", run.stdout)]


def query(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------ fixtures
@dataclass
class Base:
    """A database after `kaohe init` (init_only) and after the roster import (db)."""

    init_only: Path
    db: Path
    init: CliRun
    roster: CliRun


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    folder = tmp_path_factory.mktemp("base")
    db = folder / "kaohe.db"
    init = ok(run_cli("init", db=db, cwd=folder))
    init_only = copy_db(db, folder / "init-only")
    roster = folder / "roster.csv"
    roster.write_text(ROSTER_CSV, "utf-8")
    imported = ok(run_cli("roster", "import", str(roster), db=db, cwd=folder))
    return Base(init_only, db, init, imported)


@dataclass
class Scenario:
    """A year of findings, bonuses, a veto and reviews, recorded through the CLI."""

    db: Path
    folder: Path
    runs: dict[str, CliRun]
    revoked_id: int
    year: dict[str, dict[str, Any]]
    half: dict[str, dict[str, Any]]
    export: Path


def _keyed(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['name']}({r['department']})": r for r in rows}


@pytest.fixture(scope="module")
def scenario(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    folder = tmp_path_factory.mktemp("scenario")
    db = copy_db(base.db, folder)
    reviews = folder / "reviews.csv"
    reviews.write_text(REVIEWS_CSV, "utf-8")
    runs: dict[str, CliRun] = {}

    def at_once(steps: dict[str, tuple[str, ...]]) -> None:
        """Run independent steps at once, as several inspectors would (SQLite serialises them)."""
        calls = [CliCall(args, db, folder) for args in steps.values()]
        for key, run in zip(steps, run_cli_many(calls), strict=True):
            runs[key] = ok(run)

    at_once(
        {
            "dept": (
                "record",
                "执法监察科 未制定季度执法计划",
                "--date",
                "2026-03-02",
                "--by",
                "督查员甲",
            ),
            "late": ("record", "张三 迟到 3次", "--date", "2026-04-01", "--by", "张三"),
            "absent": ("record", "钱七 旷工两天", "--date", "2026-09-10"),
            "early": ("record", "李四 早退", "--date", "2026-05-06"),
            "award_city": (
                "bonus",
                "award",
                "张三",
                "--level",
                "市级",
                "--title",
                "优秀公务员",
                "--date",
                "2026-05-01",
            ),
            "award_dept": (
                "bonus",
                "award",
                "执法监察科",
                "--level",
                "市级",
                "--title",
                "先进集体",
                "--date",
                "2026-05-01",
            ),
            "article_1": (
                "bonus",
                "article",
                "钱七",
                "--level",
                "区级",
                "--title",
                "稿件A",
                "--date",
                "2026-05-01",
            ),
            "veto": (
                "veto",
                "王五",
                "--reason",
                "对组织决定拒不服从或执行",
                "--date",
                "2026-10-01",
            ),
            "review": ("review", "import", str(reviews), "--year", "2026"),
        }
    )
    [wrong] = ids_in(runs["early"])
    at_once(
        {  # what depends on the first round: the revocation, the higher levels
            "revoke": ("revoke", str(wrong), "--reason", "误记"),
            "award_prov": (
                "bonus",
                "award",
                "张三",
                "--level",
                "省级",
                "--title",
                "优秀公务员",
                "--date",
                "2026-06-01",
            ),
            "article_2": (
                "bonus",
                "article",
                "钱七",
                "--level",
                "市级",
                "--title",
                "稿件A",
                "--date",
                "2026-05-02",
            ),
        }
    )
    export = folder / "2026.xlsx"
    reads = run_cli_many(
        [
            CliCall(("standings", "--period", "2026", "--json"), db, folder),
            CliCall(("standings", "--period", "2026H1", "--json"), db, folder),
            CliCall(("export", "--period", "2026", str(export)), db, folder),
        ]
    )
    for key, run in zip(("year", "half", "export"), reads, strict=True):
        runs[key] = ok(run)
    return Scenario(
        db,
        folder,
        runs,
        wrong,
        _keyed(json.loads(runs["year"].stdout)),
        _keyed(json.loads(runs["half"].stdout)),
        export,
    )


# ------------------------------------------------------------------ init and roster
def test_init_twice_is_harmless(base: Base, tmp_path: Path) -> None:
    assert "数据库已就绪" in base.init.stdout
    db = copy_db(base.init_only, tmp_path)
    before = dump_sqlite(db)
    assert "entry" in before and "person" in before
    again = ok(run_cli("init", db=db, cwd=tmp_path))
    assert "数据库已就绪" in again.stdout
    assert dump_sqlite(db) == before


def test_roster_import_from_csv_adds_people_departments_and_leads(base: Base) -> None:
    assert "新增 7 人" in base.roster.stdout and "新增科室 4 个" in base.roster.stdout
    people = query(
        base.db,
        "SELECT p.name, d.name, p.staff_type, p.roles, p.rank FROM person p "
        "JOIN department d ON d.id = p.department_id ORDER BY p.id",
    )
    assert len(people) == 7
    assert people[0] == ("张三", "办公室", "公务员", "干部职工,督查员", "一级科员")
    assert people[2][2] == "事业人员"
    assert people[3][3] == "分管领导,考核领导小组"
    leads = query(
        base.db,
        "SELECT p.name, d.name FROM person_leads l JOIN person p ON p.id = l.person_id "
        "JOIN department d ON d.id = l.department_id",
    )
    assert leads == [("赵局", "执法监察科")]


def test_roster_import_from_xlsx_splits_roles_on_pause_marks_and_semicolons(
    base: Base, tmp_path: Path
) -> None:
    db = copy_db(base.init_only, tmp_path)
    path = tmp_path / "花名册.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "科室", "职务", "人员类别", "角色", "分管科室"])
    ws.append(
        ["孙局", "局领导", "局长", "公务员", "分管领导;考核领导小组;管理员", "办公室、法规科"]
    )
    ws.append(["周八", "办公室", "主任", "公务员", "干部职工、督查员", None])
    ws.append(["吴九", "法规科", None, "事业人员", None, None])
    wb.save(path)
    run = ok(run_cli("roster", "import", str(path), db=db, cwd=tmp_path))
    assert "新增 3 人" in run.stdout
    roles = dict(query(db, "SELECT name, roles FROM person"))
    assert roles == {
        "孙局": "分管领导,考核领导小组,管理员",
        "周八": "干部职工,督查员",
        "吴九": "干部职工",
    }
    leads = query(
        db,
        "SELECT d.name FROM person_leads l JOIN department d "
        "ON d.id = l.department_id ORDER BY d.name",
    )
    assert sorted(r[0] for r in leads) == ["办公室", "法规科"]


def test_roster_reimport_updates_people_and_keeps_their_history(
    scenario: Scenario, tmp_path: Path
) -> None:
    db = copy_db(scenario.db, tmp_path)
    people_before = dict(query(db, "SELECT name || '(' || department_id || ')', id FROM person"))
    entries_before = query(db, "SELECT * FROM entry ORDER BY id")
    lines = ROSTER_CSV.splitlines()
    lines = [ln for ln in lines if not ln.startswith("张三,")]  # 张三 left out of the file
    lines = [ln.replace("王五,执法监察科,科长", "王五,执法监察科,副科长") for ln in lines]
    lines.append("周八,办公室,科员,公务员,,,")
    path = tmp_path / "roster-2.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    run = ok(run_cli("roster", "import", str(path), db=db, cwd=tmp_path))
    assert "新增 1 人" in run.stdout and "更新 6 人" in run.stdout
    people_after = dict(query(db, "SELECT name || '(' || department_id || ')', id FROM person"))
    assert {k: v for k, v in people_after.items() if k in people_before} == people_before
    assert query(db, "SELECT position FROM person WHERE name = '王五'") == [("副科长",)]
    # no one is dropped, and every entry is still there against the same people
    assert query(db, "SELECT active FROM person WHERE name = '张三'") == [(1,)]
    assert query(db, "SELECT * FROM entry ORDER BY id") == entries_before
    assert len(query(db, "SELECT id FROM audit WHERE action = 'roster_import'")) == 2


# ------------------------------------------------------------------ the ledger verbs
def test_record_prints_who_bears_what_and_keeps_the_date_and_recorder(scenario: Scenario) -> None:
    out = scenario.runs["dept"].stdout
    assert "已记录:未按要求制定监管执法计划(业务工作),2026-03-02" in out
    for line in (
        "李四(执法监察科) 扣 3 分(科室共同承担)",
        "王五(执法监察科) 扣 3 分(科室共同承担)",
        "赵局(局领导) 扣 3 分(分管领导)",
    ):
        assert line in out
    ids = ids_in(scenario.runs["dept"])
    assert len(ids) == 3
    rows = query(
        scenario.db,
        f"SELECT fact_date, recorded_by, points_cp, source FROM entry "
        f"WHERE id IN ({','.join(map(str, ids))})",
    )
    assert rows == [("2026-03-02", "督查员甲", 300, "cli")] * 3
    assert "张三(办公室) 扣 1.5 分(本人)" in scenario.runs["late"].stdout


def test_revoke_marks_the_entry_revoked_with_its_reason(scenario: Scenario) -> None:
    assert f"记录 #{scenario.revoked_id} 已撤销" in scenario.runs["revoke"].stdout
    rows = query(
        scenario.db, "SELECT kind, reason FROM entry WHERE revokes_id = ?", scenario.revoked_id
    )
    assert rows == [("revocation", "误记")]
    original = query(
        scenario.db, "SELECT kind, points_cp FROM entry WHERE id = ?", scenario.revoked_id
    )
    assert original == [("deduction", 50)]


def test_bonus_verbs_report_points_and_how_many_people(scenario: Scenario) -> None:
    assert "优秀公务员(省级,8 分)→ 张三,共 1 人" in scenario.runs["award_prov"].stdout
    assert "先进集体(市级,5 分)→ 执法监察科,共 2 人" in scenario.runs["award_dept"].stdout
    assert "稿件A(市级,2 分)→ 钱七,共 1 人" in scenario.runs["article_2"].stdout


def test_veto_and_review_import_report_what_they_did(scenario: Scenario) -> None:
    assert "王五(2026年)" in scenario.runs["veto"].stdout
    assert "2026年述职测评已导入:5 人" in scenario.runs["review"].stdout


# ------------------------------------------------------------------ standings JSON
def test_standings_json_has_the_contract_fields_for_everyone(scenario: Scenario) -> None:
    assert set(scenario.year) == {
        "张三(办公室)",
        "李四(执法监察科)",
        "王五(执法监察科)",
        "赵局(局领导)",
        "钱七(法规科)",
        "刘洋(办公室)",
        "刘洋(法规科)",
    }
    for rows in (scenario.year, scenario.half):
        for row in rows.values():
            assert set(row) >= CONTRACT_FIELDS
            assert set(row["categories"]) == CATEGORY_CODES
            for cat in row["categories"].values():
                assert set(cat) == {"deducted", "score"}
            assert isinstance(row["veto"], bool) and isinstance(row["tie_flag"], bool)
            assert isinstance(row["rank"], int)


def cats(row: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {code: (c["deducted"], c["score"]) for code, c in row["categories"].items()}


BASES = {"study": (0, 15), "business": (0, 30), "central": (0, 15), "daily": (0, 20)}


def test_standings_json_for_the_year_is_scored_as_the_plan_says(scenario: Scenario) -> None:
    y = scenario.year
    # 张三: late 3 times (1.5), review 20, 市级 then 省级 for the same honour → 8
    assert cats(y["张三(办公室)"]) == {**BASES, "daily": (1.5, 18.5), "review": (0, 20)}
    assert (y["张三(办公室)"]["bonus"], y["张三(办公室)"]["total"]) == (8, 106.5)
    # 李四: the department's 3 points, the revoked 早退 gone, review 17, department honour 5
    assert cats(y["李四(执法监察科)"]) == {**BASES, "business": (3, 27), "review": (0, 17)}
    assert (y["李四(执法监察科)"]["bonus"], y["李四(执法监察科)"]["total"]) == (5, 99)
    # 王五: like 李四 with review 16, and vetoed
    assert y["王五(执法监察科)"]["total"] == 98
    # 赵局: the leader in charge bears the department's 3 points but gets no honour
    assert cats(y["赵局(局领导)"]) == {**BASES, "business": (3, 27), "review": (0, 20)}
    assert (y["赵局(局领导)"]["bonus"], y["赵局(局领导)"]["total"]) == (0, 97)
    # 钱七: 旷工两天 (4), no review yet (null, counted at 20), same article at two levels → 2
    assert cats(y["钱七(法规科)"]) == {**BASES, "daily": (4, 16), "review": (0, None)}
    assert (y["钱七(法规科)"]["bonus"], y["钱七(法规科)"]["total"]) == (2, 98)
    assert y["刘洋(办公室)"]["total"] == 93
    assert y["刘洋(法规科)"]["total"] == 100
    expect = {  # rank, grade, veto, payout, tie_flag; 7 people → one excellent place
        "张三(办公室)": (1, "优秀", False, 1.0, False),
        "刘洋(法规科)": (2, "称职", False, 1.0, False),
        "李四(执法监察科)": (3, "称职", False, 1.0, False),
        "王五(执法监察科)": (4, "基本称职", True, 0.9, False),
        "钱七(法规科)": (4, "称职", False, 1.0, False),
        "赵局(局领导)": (6, "称职", False, 1.0, False),
        "刘洋(办公室)": (7, "称职", False, 1.0, False),
    }
    got = {
        k: (r["rank"], r["grade"], r["veto"], r["bonus_payout"], r["tie_flag"])
        for k, r in y.items()
    }
    assert got == expect


def test_standings_json_for_a_half_year_has_no_review_and_no_grade(scenario: Scenario) -> None:
    h = scenario.half
    assert all(r["categories"]["review"]["score"] is None for r in h.values())
    assert all(r["grade"] is None and r["tie_flag"] is False for r in h.values())
    # the September absence and the October veto fall in the second half
    assert cats(h["钱七(法规科)"])["daily"] == (0, 20)
    assert h["王五(执法监察科)"]["veto"] is False
    assert all(r["bonus_payout"] == 1.0 for r in h.values())
    assert (h["张三(办公室)"]["total"], h["张三(办公室)"]["rank"]) == (106.5, 1)


# ------------------------------------------------------------------ export
def test_export_has_the_summary_to_sign_and_every_entry(scenario: Scenario) -> None:
    wb = load_workbook(scenario.export, read_only=True)
    summary, details = wb.worksheets[0], wb.worksheets[1]
    rows = [list(r) for r in summary.iter_rows(values_only=True)]
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "科室")
    assert rows[header_at] == [
        "科室",
        "姓名",
        "政治理论和业务知识学习",
        "业务工作",
        "中心工作",
        "机关日常",
        "述职测评",
        "加分",
        "总分",
        "排名",
        "等次",
        "奖金系数",
        "备注",
    ]
    people = {(r[0], r[1]): r for r in rows[header_at + 1 :] if r and r[1]}
    assert len(people) == 7
    assert people[("办公室", "张三")] == [
        "办公室",
        "张三",
        15,
        30,
        15,
        18.5,
        20,
        8,
        106.5,
        1,
        "优秀",
        1,
        None,
    ]
    assert people[("执法监察科", "王五")][-3:-1] == ["基本称职", 0.9]
    assert "一票否决" in people[("执法监察科", "王五")][-1]
    assert people[("法规科", "钱七")][6] in (None, "")  # review not entered
    entries = [list(r) for r in details.iter_rows(values_only=True)]
    head, body = entries[0], [r for r in entries[1:] if r and r[0] is not None]
    # 3 department + 1 late + 1 absent + 1 revoked early + 2 + 2 + 2 bonuses
    assert len(body) == 12
    col = {name: head.index(name) for name in ("编号", "姓名", "记录人", "状态", "分值")}
    by_id = {r[col["编号"]]: r for r in body}
    revoked = by_id[scenario.revoked_id]
    assert revoked[col["姓名"]] == "李四"
    assert "已撤销" in revoked[col["状态"]] and "误记" in revoked[col["状态"]]
    assert sum("已撤销" in r[col["状态"]] for r in body) == 1
    assert {r[col["记录人"]] for r in body if r[col["姓名"]] == "赵局"} == {"督查员甲"}
    wb.close()


# ------------------------------------------------------------------ bad inputs
BAD_REVIEWS = "姓名,述职,分管领导评分,班子评议\n张三,11,5,5\n"
BAD_ROSTER = (
    "姓名,科室,职务,人员类别,角色,分管科室\n周八,办公室,科员,公务员,,\n吴九,法规科,科员,临时工,,\n"
)

BAD = {
    "unknown person": (("record", "周八 迟到", "--date", "2026-03-02"), ["花名册中没有“周八”"]),
    "shared name": (
        ("record", "刘洋 迟到", "--date", "2026-03-02"),
        ["有 2 位“刘洋”", "刘洋(办公室)", "刘洋(法规科)"],
    ),
    "unknown item": (
        ("record", "张三 迟倒", "--date", "2026-03-02"),
        ["没有“迟倒”这一扣分项", "迟到"],
    ),
    "review out of range": (
        ("review", "import", "{dir}/bad-reviews.csv", "--year", "2026"),
        ["第2行 述职", "超出范围"],
    ),
    "roster bad row": (("roster", "import", "{dir}/bad-roster.csv"), ["第3行 人员类别", "临时工"]),
    "bad date": (("record", "张三 迟到", "--date", "2026-02-30"), ["日期“2026-02-30”不对"]),
    "bad period": (("standings", "--period", "2026H3", "--json"), ["期间“2026H3”不对"]),
}


@dataclass
class BadRun:
    run: CliRun
    before: dict[str, list[tuple[Any, ...]]]
    after: dict[str, list[tuple[Any, ...]]]
    folder: Path


@pytest.fixture(scope="module")
def bad_runs(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadRun]:
    """Every bad input at once, each on its own copy of the scenario's database."""
    calls, befores = [], []
    for n, (args, _) in enumerate(BAD.values()):
        folder = tmp_path_factory.mktemp(f"bad{n}")
        db = copy_db(scenario.db, folder)
        (folder / "bad-reviews.csv").write_text(BAD_REVIEWS, "utf-8")
        (folder / "bad-roster.csv").write_text(BAD_ROSTER, "utf-8")
        filled = tuple(a.format(dir=folder, revoked=scenario.revoked_id) for a in args)
        calls.append(CliCall(filled, db, folder))
        befores.append(dump_sqlite(db))
    runs = run_cli_many(calls)
    return {
        key: BadRun(run, before, dump_sqlite(call.cwd / scenario.db.name), call.cwd)
        for key, run, before, call in zip(BAD, runs, befores, calls, strict=True)
    }


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_non_zero_with_a_clear_message_and_changes_nothing(
    case: str, bad_runs: dict[str, BadRun]
) -> None:
    bad = bad_runs[case]
    assert bad.run.code != 0
    assert "Traceback" not in bad.run.output
    assert bad.run.stderr.startswith("错误:"), bad.run.stderr
    for words in BAD[case][1]:
        assert words in bad.run.stderr, bad.run.stderr
    assert bad.after == bad.before
    assert not (bad.folder / "x.xlsx").exists()
