"""Attendance exports shaped like the real ones, made with openpyxl (or as CSV text).

- ``dingtalk_xlsx``: a 钉钉 考勤 月度汇总 — a merged title and a merged line of 统计日期
  and 报表生成时间 above a two-row header (single columns merged down both rows, 请假 split
  into 事假/病假/年假 in the second), blank cells where nothing happened.
- ``wecom_csv``: a 企业微信 打卡月报 saved as CSV by Excel on Chinese Windows (GB18030):
  a title, the 统计时间 line, then a header whose counts sit under 异常统计 one row lower.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook

# 钉钉: the header's first row; "" under 请假 are the sub-columns of the second row
DINGTALK_HEADER = [
    "姓名", "考勤组", "部门", "工号", "职位", "UserId", "出勤天数", "休息天数", "迟到次数",
    "迟到时长(分钟)", "严重迟到次数", "早退次数", "早退时长(分钟)", "旷工天数", "请假", "", "",
]  # fmt: skip
DINGTALK_SUBHEADER = ["事假(天)", "病假(天)", "年假(天)"]
# rows 5..10 of the sheet: 姓名, 部门, 迟到次数, 早退次数, 旷工天数 (None: a blank cell)
DINGTALK_ROWS: list[tuple[str, str, int | None, int | None, int | None]] = [
    ("张三", "某某单位-办公室", 2, None, None),  # row 5
    ("李四", "执法监察科", None, 1, 1),  # row 6
    ("刘洋", "法规科", 3, None, 0),  # row 7: two 刘洋 on the roster, this one in 法规科
    ("赵六", "综合科", 1, None, None),  # row 8: not on the roster
    ("王五", "综合科", 1, None, None),  # row 9: on the roster, in 执法监察科
    ("钱七", "法规科", None, None, None),  # row 10: nothing to propose
]


def dingtalk_xlsx(
    rows: list[tuple[str, str, int | None, int | None, int | None]] | None = None,
    *,
    period: str = "统计日期:2026-03-01 至 2026-03-31    报表生成时间:2026-04-01 10:15",
) -> bytes:
    """A 钉钉 考勤 月度汇总 export as .xlsx bytes."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    width = len(DINGTALK_HEADER)
    ws.append(["月度汇总"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.append([period])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.append([h or None for h in DINGTALK_HEADER])
    ws.append([None] * 14 + DINGTALK_SUBHEADER)
    for column in range(1, 15):  # single columns span both header rows
        ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
    ws.merge_cells(start_row=3, start_column=15, end_row=3, end_column=17)
    for n, (name, dept, late, early, absent) in enumerate(rows or DINGTALK_ROWS, start=1):
        ws.append([name, "默认考勤组", dept, f"{n:03d}", "科员", f"u{n:03d}", 21, 10, late,
                   15 if late else None, None, early, 20 if early else None, absent, None,
                   1 if n == 1 else None, None])  # fmt: skip
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


WECOM_CSV = """打卡月报,,,,,,,,,,,
统计时间:2026年03月01日-2026年03月31日,,,,,,,,,,,
姓名,账号,部门,职务,所属规则,出勤统计,,,异常统计,,,
,,,,,应打卡天数,正常天数,异常天数,迟到次数,早退次数,缺卡次数,旷工天数
张三,zhangsan,办公室,科员,固定上下班,22,21,1,1,,,
李四,lisi,执法监察科,科员,固定上下班,22,22,0,,,,
刘洋,liuyang,办公室,科员,固定上下班,22,20,2,,1,,0.5
"""


def wecom_csv() -> bytes:
    """A 企业微信 打卡月报 as Excel saves a CSV on Chinese Windows."""
    return WECOM_CSV.encode("gb18030")
