"""Reading tabular input (.csv or .xlsx) into rows of strings keyed by header."""

from __future__ import annotations

import csv
from io import BytesIO
from pathlib import Path

from scoring.errors import InputError


def read_table(path: Path, required: list[str]) -> list[tuple[int, dict[str, str]]]:
    """(row number as a person sees it, {header: text}) for each non-empty row."""
    if not path.exists():
        raise InputError(f"找不到文件 {path}")
    grid = read_grid(path.read_bytes(), path.name)
    headers = [h.strip() for h in grid[0]]
    missing = [h for h in required if h not in headers]
    if missing:
        raise InputError(
            f"{path.name} 缺少表头:{'、'.join(missing)}(第1行应为:{','.join(required)})"
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for n, raw in enumerate(grid[1:], start=2):
        cells = {h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(headers) if h}
        if any(cells.values()):
            rows.append((n, cells))
    return rows


def read_grid(data: bytes, name: str) -> list[list[str]]:
    """Every row of a .csv, or of an .xlsx's first sheet, as text ("" for an empty cell;
    a merged cell's text is in its top-left cell only)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        grid = [list(r) for r in csv.reader(_decode(data, name).splitlines())]
    elif suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook  # only for the commands that read a workbook

        try:
            wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InputError(f"无法读取 Excel 文件 {name}:{exc}") from None
        sheet = wb.worksheets[0]
        grid = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        wb.close()
    else:
        raise InputError(f"只支持 .csv 或 .xlsx 文件,收到的是 {name}")
    if not grid:
        raise InputError(f"{name} 是空文件")
    return grid


def _decode(raw: bytes, name: str) -> str:
    """A CSV's text: UTF-8 (with or without BOM), or GB18030 as Excel saves it on Chinese
    Windows."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name} 的编码无法识别,请另存为 UTF-8 编码的 CSV 或 .xlsx")


def split_cell(text: str) -> list[str]:
    """'督查员、干部职工' or '办公室;法规科' → parts."""
    for sep in ("、", ";", ";", ",", ","):
        text = text.replace(sep, "\n")
    return [p.strip() for p in text.split("\n") if p.strip()]
