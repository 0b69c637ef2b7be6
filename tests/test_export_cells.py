"""Every Excel the product writes stores text as text: no cell a person typed becomes a formula."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from sqlmodel import Session

from scoring.export import write_export
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from tests.helpers import NOW, add_person, d
from usecases.bulletins import render_bulletin

Y2026 = Period.parse("2026")
LINK = '=HYPERLINK("http://evil.example/","点我查看")'
# what each hostile value starts with: = + - @ tab CR
HOSTILE_NAMES = ("=1+2", "+86", "-3+4", "@SUM")
HOSTILE_DEPT = LINK
HOSTILE_BY = "\t=1+1"
HOSTILE_NOTE = "\r=2*3\x07"


@pytest.fixture
def hostile(service: Service, session: Session) -> None:
    """People, a department, a recorder and a note that Excel would read as formulas."""
    for name in HOSTILE_NAMES:
        add_person(session, name, HOSTILE_DEPT)
    session.commit()
    for name in HOSTILE_NAMES:
        service.record_finding(
            f"{name} 迟到2次", fact_date=d("2026-03-02"), by=HOSTILE_BY, now=NOW, note=HOSTILE_NOTE
        )


def cells(book: Workbook) -> Iterator[Cell]:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    assert isinstance(cell, Cell)
                    yield cell


def assert_text_stays_text(book: Workbook) -> None:
    found = list(cells(book))
    formulas = [c.coordinate for c in found if c.data_type == "f"]
    assert formulas == []
    values = {c.value for c in found}
    for text in (*HOSTILE_NAMES, HOSTILE_DEPT, HOSTILE_BY):
        assert text in values  # stored as written, nothing dropped or prefixed
    assert (
        "\n=2*3\ufffd" in values
    )  # a CR is a line break; a control character (no xlsx can hold one) is marked
    hostile = [c for c in found if isinstance(c.value, str) and c.value[:1] in "=+-@\t\n"]
    assert hostile and all(c.data_type == "s" and c.quotePrefix for c in hostile)
    details = book["明细"]
    header = [c.value for c in details[1]]
    points = details.cell(row=2, column=header.index("分值") + 1)
    assert points.data_type == "n" and points.value == -1  # numbers stay numbers


def test_the_signed_export_stores_formula_like_text_as_text(
    hostile: None, service: Service, rules: Rules, tmp_path: Path
) -> None:
    path = write_export(
        tmp_path / "x.xlsx", rules, Y2026, service.standings(Y2026), service.entries(Y2026)
    )
    assert_text_stays_text(load_workbook(path))


def test_the_bulletin_excel_posted_to_the_group_stores_formula_like_text_as_text(
    hostile: None, session: Session, rules: Rules
) -> None:
    rendered = render_bulletin(session, rules, Period.parse("2026H1"), font=None)
    assert_text_stays_text(load_workbook(BytesIO(rendered.xlsx)))
