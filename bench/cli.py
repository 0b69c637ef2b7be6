"""How quickly `kaohe` answers: `kaohe standings --period 2026 --json` on a small database,
against `python -c "import sqlalchemy"` in the same run.

The two commands alternate, after one untimed run of each; the best wall time and the best
processor time (user + system, of the child alone) of each are kept. Python may write its
bytecode caches (PYTHONDONTWRITEBYTECODE is dropped for the children), as an installed
kaohe would have them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.bot import STAFF, bureau
from bench.registry import Context, Result, register
from scoring.db import make_engine
from scoring.rules import Rules
from scoring.service import Service

GOAL_RATIO = 2.5
FINDINGS = 300
BASELINE = [sys.executable, "-c", "import sqlalchemy"]
# the floor: what every database command imports before it does anything (the settings,
# the SQLModel tables, the CLI's Typer and Rich)
FLOOR = [sys.executable, "-c", "import bot.settings, scoring.models, typer, rich.console"]


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, processor seconds) of one run of a command, which must succeed."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{errors[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _small_database(tmp: Path, rules: Rules) -> str:
    """The bot benchmark's bureau of 61 with a few hundred findings recorded."""
    url = bureau(tmp)
    engine = make_engine(url)
    service = Service(engine, rules)
    now = datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    for i in range(FINDINGS):
        day = date(2026, 1 + i % 11, 1 + i % 28)
        service.record_finding(f"职工{i % STAFF:03d} 迟到", fact_date=day, by="bench", now=now)
    engine.dispose()
    return url


def kaohe_command() -> list[str]:
    """The installed `kaohe` script beside this Python, else `python -m bot`."""
    script = Path(sys.executable).with_name("kaohe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


@register("cli")
def cli_start(ctx: Context) -> Iterator[Result]:
    """cli_start: a quick command's whole run against importing SQLAlchemy alone."""
    ctx.log("cli: `kaohe standings --period 2026 --json` against `import sqlalchemy`")
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-cli-") as tmp:
        url = _small_database(Path(tmp), ctx.rules)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["KAOHE_DATABASE_URL"] = url
        command = [*kaohe_command(), "standings", "--period", "2026", "--json"]
        runs: dict[str, list[tuple[float, float]]] = {"ours": [], "base": [], "floor": []}
        commands = {"ours": command, "base": BASELINE, "floor": FLOOR}
        for args in commands.values():
            timed(args, env)  # untimed: writes the bytecode caches, warms the page cache
        for _ in range(max(ctx.reps, 3)):
            for name, args in commands.items():
                runs[name].append(timed(args, env))
    wall, cpu = min(w for w, _ in runs["ours"]), min(c for _, c in runs["ours"])
    base_wall, base_cpu = min(w for w, _ in runs["base"]), min(c for _, c in runs["base"])
    floor_wall = min(w for w, _ in runs["floor"])
    yield {
        "bench": "cli_start",
        "seconds": round(wall, 3),
        "baseline_seconds": round(base_wall, 3),
        "ratio": round(wall / base_wall, 3),
        "cpu_seconds": round(cpu, 3),
        "baseline_cpu_seconds": round(base_cpu, 3),
        "cpu_ratio": round(cpu / base_cpu, 3),
        "ok": wall <= GOAL_RATIO * base_wall,
        "floor_seconds": round(floor_wall, 3),
        "floor_ratio": round(floor_wall / base_wall, 3),
        "command": " ".join(["kaohe", *command[-4:]]),
        "baseline": 'python -c "import sqlalchemy"',
        "floor": 'python -c "import bot.settings, scoring.models, typer, rich.console"',
        "reps": len(runs["ours"]),
    }
