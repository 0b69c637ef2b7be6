"""An attendance import for the demo: a 钉钉 考勤 月度汇总 export of last month, imported and
confirmed through the real CLI (`kaohe attendance import`, then `confirm all`) as the office
would, against the demo's database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from fakes.exports import dingtalk_xlsx


def last_month(today: date) -> tuple[date, date]:
    """The first and last day of the month before ``today``'s."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def play_attendance(database_url: str, workdir: Path, today: date, console: Console) -> None:
    """Write an export for the cast, import it, confirm what it proposes."""
    first, last = last_month(today)
    period = f"统计日期:{first.isoformat()} 至 {last.isoformat()}    报表生成时间:{today} 09:00"
    rows: list[tuple[str, str, int | None, int | None, int | None]] = [
        ("冯科员", "办公室", 2, None, None),
        ("张三", "执法监察科", None, 1, None),
        ("李督查", "办公室", None, None, None),
        ("赵六", "综合科", 1, None, None),  # not on the roster: reported, not proposed
    ]
    export = workdir / f"钉钉考勤月度汇总-{first:%Y%m}.xlsx"
    export.write_bytes(dingtalk_xlsx(rows, period=period))
    env = {**os.environ, "KAOHE_DATABASE_URL": database_url}
    steps = [(["attendance", "import", str(export)], f"attendance import {export.name}"),
             (["attendance", "confirm", "all"], "attendance confirm all")]  # fmt: skip
    for args, shown in steps:
        console.print(f"[bold cyan]$ kaohe {shown}[/bold cyan]")
        done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        console.print(done.stdout.rstrip() or done.stderr.rstrip(), markup=False)
