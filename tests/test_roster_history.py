"""Roster and review history: people who leave stop being assessed, earlier marks stay on record."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from scoring.errors import InputError, UnknownPerson
from scoring.models import Audit
from scoring.periods import Period
from scoring.service import Service
from tests.helpers import NOW

HEAD = "姓名,科室,职务,人员类别,角色,分管科室,职级,状态\n"


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_someone_marked_as_left_is_no_longer_assessed_but_keeps_history(
    service: Service, tmp_path: Path
) -> None:
    roster = HEAD + "张三,办公室,科员,公务员,干部职工,,,在岗\n李四,办公室,科员,公务员,干部职工,,,\n"
    service.import_roster(_write(tmp_path, "a.csv", roster), now=NOW, actor="t")
    service.record_finding("张三 迟到", fact_date=date(2026, 3, 2), by="督查", now=NOW)
    left = HEAD + "张三,办公室,科员,公务员,干部职工,,,离岗\n"
    result = service.import_roster(_write(tmp_path, "b.csv", left), now=NOW, actor="t")
    assert (result.added, result.updated) == (0, 1)
    names = [s.name for s in service.standings(Period.parse("2026"))]
    assert names == ["李四"]
    assert len(service.entries(Period.parse("2026"))) == 1  # 张三's entry is still there
    with pytest.raises(UnknownPerson):
        service.record_finding("张三 迟到", fact_date=date(2026, 3, 3), by="督查", now=NOW)


def test_an_unknown_status_aborts_the_import_naming_row_and_column(
    service: Service, tmp_path: Path
) -> None:
    bad = HEAD + "张三,办公室,科员,公务员,干部职工,,,退休了\n"
    with pytest.raises(InputError, match="第2行 状态"):
        service.import_roster(_write(tmp_path, "c.csv", bad), now=NOW, actor="t")
    assert service.standings(Period.parse("2026")) == []


def test_replacing_review_marks_keeps_the_earlier_ones_in_the_audit_trail(
    service: Service, tmp_path: Path
) -> None:
    service.import_roster(
        _write(tmp_path, "r.csv", HEAD + "张三,办公室,科员,公务员,干部职工,,,\n"),
        now=NOW,
        actor="t",
    )
    first = _write(tmp_path, "v1.csv", "姓名,述职,分管领导评分,班子评议\n张三,9,4,4\n")
    second = _write(tmp_path, "v2.csv", "姓名,述职,分管领导评分,班子评议\n张三,10,5,4.5\n")
    service.import_reviews(first, year=2026, now=NOW, actor="组长")
    service.import_reviews(second, year=2026, now=NOW, actor="组长")
    (me,) = service.standings(Period.parse("2026"))
    assert me.categories["review"].score == pytest.approx(19.5)
    with service.session() as s:
        replaced = s.exec(select(Audit).where(Audit.action == "review_replaced")).all()
    assert len(replaced) == 1
    detail = json.loads(replaced[0].detail)
    assert detail["before"] == {"report": "9", "leader": "4", "group": "4"}
    assert detail["after"]["group"] == "4.5"
