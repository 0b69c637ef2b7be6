"""The Excel export the leading group signs: a summary sheet and every entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from scoring.evidence import evidence_path
from scoring.ledger import EntryView
from scoring.periods import SHANGHAI, Period
from scoring.rules import Rules
from scoring.standings import Standing

SUMMARY = "汇总"
DETAILS = "明细"


# What makes a spreadsheet read a text as a formula (or run it when the cell is edited)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _num(value: object) -> object:
    """Excel cells hold numbers: Decimal points become int or float at this edge only."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def sheet_cell(ws: Worksheet, value: object) -> Cell:
    """One cell to write: numbers stay numbers, any text is stored as text, never a formula.

    Names, departments and recorders are typed by people: "=HYPERLINK(…)" must reach the
    reader as those characters. A text that a spreadsheet would read as a formula also gets
    Excel's quote prefix, so editing the cell keeps it text.
    """
    cell = Cell(ws)
    if not isinstance(value, str):
        cell.value = _num(value)
        return cell
    # xlsx cannot hold control characters, and its XML reads a CR as a line feed
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell.data_type = "s"
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def append_row(ws: Worksheet, values: Iterable[object]) -> None:
    """Add a row at the bottom of the sheet; every cell goes through ``sheet_cell``."""
    ws.append([sheet_cell(ws, v) for v in values])


def local_time(moment: datetime, tz: tzinfo) -> datetime:
    """A stored moment (UTC) as the bureau's clock shows it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(tz)


def remarks(s: Standing) -> str:
    """What the leading group must see beside a grade: an undecided tie, a veto, an estimate."""
    notes = []
    if s.tie_flag:
        notes.append("同分跨越优秀名额,待考核领导小组集体讨论")
    if s.veto:
        notes.append("一票否决")
    if s.review_estimated:
        notes.append("述职测评未录入,按基本分估算")
    return ";".join(notes)


def write_export(
    path: Path,
    rules: Rules,
    period: Period,
    standings: list[Standing],
    entries: list[EntryView],
    *,
    tz: tzinfo = SHANGHAI,
) -> Path:
    """Write the workbook and return its path."""
    # openpyxl (and numpy with it) only for the commands that write a workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SUMMARY
    cats = list(rules.categories)
    headers = [
        *("科室", "姓名", *(c.name for c in cats)),
        *("加分", "总分", "排名", "等次", "奖金系数", "备注"),
    ]
    append_row(ws, [f"{rules.unit.name}内部量化考核 {period.label} 汇总表"])
    append_row(ws, headers)
    for s in standings:
        scores = [s.categories[c.code].score for c in cats]
        append_row(
            ws,
            [
                s.department,
                s.name,
                *(_num(x) if x is not None else "" for x in scores),
                _num(s.bonus),
                _num(s.total),
                s.rank,
                s.grade or "",
                _num(s.bonus_payout),
                remarks(s),
            ],
        )
    append_row(ws, [])
    append_row(ws, ["考核领导小组签字:"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for i in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 14
    ws.freeze_panes = "C3"

    detail = wb.create_sheet(DETAILS)
    append_row(
        detail,
        [
            "编号",
            "日期",
            "科室",
            "姓名",
            "类别",
            "项目",
            "次数",
            "分值",
            "承担方式",
            "记录人",
            "记录时间",
            "来源",
            "证据",
            "证据文件",  # in the evidence folder (scoring.evidence)
            "备注",
            "状态",
        ],
    )
    names = {c.code: c.name for c in cats}
    for e in entries:
        sign = -1 if e.kind == "deduction" else 1
        status = f"已撤销(记录{e.revoked_by}:{e.revoke_reason})" if e.revoked_by else "有效"
        append_row(
            detail,
            [
                e.id,
                e.fact_date.isoformat(),
                e.department,
                e.name,
                names.get(e.category, "加分"),
                e.item_name,
                e.count,
                _num(sign * e.points),
                e.role,
                e.recorded_by,
                local_time(e.recorded_at, tz).strftime("%Y-%m-%d %H:%M"),
                e.source,
                e.evidence,
                evidence_path(e.evidence_file),
                e.note,
                status,
            ],
        )
    for cell in detail[1]:
        cell.font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
