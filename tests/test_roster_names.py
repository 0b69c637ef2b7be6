"""Roster names an inspector can write: normalised, refused when the parser could not read them."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from sqlmodel import Session, select

from scoring.errors import InputError
from scoring.models import Department, Person
from scoring.service import Service
from tests.helpers import NOW, add_person

HEADERS = ["姓名", "科室", "职务", "人员类别", "角色", "分管科室", "职级"]
GOOD = ["张三", "办公室", "科员", "公务员", "干部职工", "", ""]


def roster(tmp_path: Path, *rows: list[str]) -> Path:
    """A roster CSV with the headers and these rows (written by the csv module: quoted)."""
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    path = tmp_path / "roster.csv"
    path.write_text(out.getvalue(), "utf-8")
    return path


def row(**cells: str) -> list[str]:
    """The good row with some cells changed, by header."""
    out = list(GOOD)
    for header, value in cells.items():
        out[HEADERS.index(header)] = value
    return out


def refused(service: Service, session: Session, path: Path) -> str:
    """The import's error; nothing was written."""
    with pytest.raises(InputError) as caught:
        service.import_roster(path, now=NOW, actor="t")
    assert session.exec(select(Person)).all() == []
    assert session.exec(select(Department)).all() == []
    return caught.value.message


@pytest.mark.parametrize(
    ("cells", "why"),
    [
        ({"姓名": "张 三"}, "空格"),
        ({"姓名": "张\u3000三"}, "空格"),  # a full-width space
        ({"姓名": "张三\u200b"}, "不可见字符"),  # a zero-width space
        ({"姓名": "张三\u202e"}, "不可见字符"),  # a right-to-left override
        ({"姓名": "张三\x07"}, "控制字符"),
        ({"姓名": "张三、李四"}, "“、”"),
        ({"姓名": "张三,李四"}, "“,”"),
        ({"姓名": "张三，李四"}, "“,”"),  # full-width, read as a comma
        ({"姓名": "张三；李四"}, "“;”"),
        ({"姓名": "张三/李四"}, "“/”"),
        ({"姓名": "张三:李四"}, "“:”"),
        ({"姓名": "张三(办公室)"}, "括号"),
        ({"姓名": "张三（法规科）"}, "括号"),
        ({"姓名": "【张三】"}, "括号"),
        ({"姓名": "迟到"}, "扣分项目"),
        ({"姓名": "笔记不足一万字"}, "扣分项目"),
        ({"姓名": "值班员"}, "“值班”"),
        ({"姓名": "张" * 33}, "太长(最多32字)"),
        ({"科室": "办公 室"}, "空格"),
        ({"科室": "办公室/法规科"}, "“/”"),
        ({"科室": "迟到"}, "扣分项目"),
        ({"科室": "带班室"}, "“带班”"),
        ({"科室": "办" * 10_000}, "太长(最多64字)"),
        ({"职务": "科" * 65}, "太长(最多64字)"),
        ({"职级": "级" * 17}, "太长(最多16字)"),
        ({"职务": "科员\u200b"}, "不可见字符"),
        ({"姓名": "李局", "角色": "分管领导", "分管科室": "法规(一)科"}, "括号"),
    ],
)
def test_a_name_the_parser_could_not_read_is_refused_naming_row_and_column(
    service: Service, session: Session, tmp_path: Path, cells: dict[str, str], why: str
) -> None:
    message = refused(service, session, roster(tmp_path, GOOD[:], row(**cells)))
    column = list(cells)[-1]  # the cell at fault is the last one changed
    problems = [line.strip() for line in message.splitlines() if "第3行" in line]
    assert any(p.startswith(f"- 第3行 {column}:") and why in p for p in problems), message
    assert "第2行" not in message  # the good row is fine


def test_names_are_normalised_and_trimmed(
    service: Service, session: Session, tmp_path: Path
) -> None:
    path = roster(tmp_path, row(姓名=" ＬｉＮａ ", 科室="办公室\u3000", 职务="科　员"))
    service.import_roster(path, now=NOW, actor="t")
    [(name, position)] = session.exec(select(Person.name, Person.position)).all()
    assert (name, position) == ("LiNa", "科 员")
    assert session.exec(select(Department.name)).all() == ["办公室"]


def test_two_rows_equal_after_normalisation_are_one_duplicate(
    service: Service, session: Session, tmp_path: Path
) -> None:
    message = refused(service, session, roster(tmp_path, row(姓名="LiNa"), row(姓名="ＬｉＮａ")))
    assert "第3行 姓名:LiNa(办公室)与第2行重复" in message


def test_a_name_differing_from_one_on_the_roster_only_in_case_or_width_is_refused(
    service: Service, session: Session, tmp_path: Path
) -> None:
    add_person(session, "LiNa", "办公室")
    session.commit()
    with pytest.raises(InputError) as caught:
        service.import_roster(roster(tmp_path, row(姓名="lina")), now=NOW, actor="t")
    assert "第2行 姓名:“lina”与花名册中的“LiNa(办公室)”难以区分" in caught.value.message
    assert session.exec(select(Person.name)).all() == ["LiNa"]


def test_a_person_named_like_a_department_is_refused(
    service: Service, session: Session, tmp_path: Path
) -> None:
    path = roster(tmp_path, GOOD[:], row(姓名="法规科", 科室="法规科"))
    message = refused(service, session, path)
    assert "第3行 姓名:“法规科”与科室同名" in message
