"""The admin CLI `kaohe` (Typer). Its verbs and flags are a contract other tools rely on."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from bot.settings import Settings
from scoring.db import make_engine, transaction, upgrade
from scoring.errors import InputError, KaoheError, RulesError
from scoring.periods import Period
from scoring.points import fmt
from scoring.rules import Rules, load_rules, parse_rules
from scoring.service import Service
from scoring.standings import Standing

if TYPE_CHECKING:  # the attendance reader (and its table parsing) loads for its commands only
    from scoring.attendance import AttendanceProposal

app = typer.Typer(
    help="考核助手:内部量化考核的管理命令", no_args_is_help=True, add_completion=False
)
rules_app = typer.Typer(help="规则文件", no_args_is_help=True)
roster_app = typer.Typer(help="花名册", no_args_is_help=True)
bonus_app = typer.Typer(help="加分(管理员直接录入,视为已批准)", no_args_is_help=True)
review_app = typer.Typer(help="述职测评", no_args_is_help=True)
attendance_app = typer.Typer(
    help="考勤导出表(钉钉、企业微信月度汇总)→ 办公室确认的扣分建议", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")
app.add_typer(roster_app, name="roster")
app.add_typer(bonus_app, name="bonus")
app.add_typer(review_app, name="review")
app.add_typer(attendance_app, name="attendance")

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)
P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_ACTOR = "管理员"


log = logging.getLogger(__name__)
TOKEN_REJECTED = (
    "Telegram 拒绝了机器人 token:请核对 KAOHE_BOT_TOKEN(以及 KAOHE_BOT_API_BASE_URL,"
    "地址不对时服务器也这样回答)"
)
HIDDEN = "<已隐藏>"


class RedactSecrets(logging.Filter):
    """Masks secrets (the bot token: httpx logs it inside every request URL) in log lines.

    Put on a handler, it sees every record that handler writes, tracebacks included.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []

    def hide(self, *secrets: str) -> None:
        """Mask these too (as written and as they appear in a URL)."""
        found = {*self.secrets, *(v for s in secrets if s for v in (s, quote(s, safe="")))}
        self.secrets = sorted(found, key=len)

    def mask(self, text: str) -> str:
        """The text with every secret replaced, longest first."""
        for secret in reversed(self.secrets):
            text = text.replace(secret, HIDDEN)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.mask(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


# what the CLI masks in whatever it prints or logs (main() fills it in)
redact = RedactSecrets()


def _fail(what: str, message: str, code: int) -> typer.Exit:
    """Say what failed on stderr (secrets masked) and give the exit to raise."""
    err.print(Text.assemble((what, "red"), redact.mask(message)), soft_wrap=True)
    return typer.Exit(code)


def _crash_report(exc: Exception) -> Path:
    """Write the traceback of an unexpected error to a file of its own (secrets masked)."""
    fd, name = tempfile.mkstemp(prefix="kaohe-error-", suffix=".log", text=True)
    with os.fdopen(fd, "w", encoding="utf-8") as report:
        report.write(redact.mask("".join(traceback.format_exception(exc))))
    return Path(name)


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Every failure is said in words on stderr: never a traceback, never the token.

    An error a user can cause (KaoheError) is its message, exit code 1; a database out of
    reach says so (1), a wrong setting too (2); anything unexpected is one line naming the
    file that holds its traceback, for whoever maintains the bot (1).
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except KaoheError as exc:
            raise _fail("错误:", exc.message, 1) from None
        except OperationalError as exc:
            raise _fail("数据库无法访问:", str(exc.orig), 1) from None
        except ValueError as exc:  # settings validation
            raise _fail("配置错误:", str(exc), 2) from None
        except Exception as exc:
            report = _crash_report(exc)
            first = (str(exc).strip().splitlines() or [""])[0]
            raise _fail("内部错误:", f"{type(exc).__name__}: {first}(详情见 {report})", 1) from None

    return wrapper


@contextmanager
def _service(*, require_schema: bool = True) -> Iterator[tuple[Service, Settings]]:
    settings = Settings()
    rules = load_rules(settings.rules_file)
    try:
        engine = make_engine(settings.database_url)
    except (ArgumentError, ValueError) as exc:
        raise InputError(f"KAOHE_DATABASE_URL 不是有效的数据库地址:{exc}") from None
    except ImportError as exc:
        raise InputError(f"缺少 KAOHE_DATABASE_URL 所需的数据库驱动({exc.name}),请先安装") from None
    except OSError as exc:
        raise InputError(f"无法创建数据库文件夹:{exc}") from None
    try:
        if require_schema and not inspect(engine).has_table("entry"):
            raise InputError("数据库尚未初始化,请先运行 kaohe init")
        yield Service(engine, rules), settings
    finally:
        engine.dispose()


def _date(text: str | None, settings: Settings) -> date:
    if not text:
        return settings.now().date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"日期“{text}”不对,请写成 YYYY-MM-DD,例如 2026-03-15") from None


@app.command()
@friendly
def init() -> None:
    """Create or upgrade the database (safe to run again)."""
    with _service(require_schema=False) as (svc, settings):
        upgrade(svc.engine)
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        out.print(f"数据库已就绪:{shown}")


@app.command("backup")
@friendly
def backup_db(file: Path) -> None:
    """Copy the SQLite database to FILE, consistently, even while the bot runs."""
    from scoring.backup import backup, check, sqlite_path

    settings = Settings()
    copy = backup(sqlite_path(settings.database_url), file)
    state = check(copy)
    when = "尚无记录"
    if state.newest is not None:
        when = f"最新记录 {state.newest.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}"
    out.print(f"已备份到 {copy}(数据库版本 {state.revision},{when})")


@app.command("restore")
@friendly
def restore_db(
    file: Path,
    force: Annotated[bool, typer.Option("--force", help="当前数据库比备份新时也覆盖")] = False,
) -> None:
    """Put a backup back in place of the database, after checking it (stop the bot first)."""
    from scoring.backup import restore, sqlite_path

    settings = Settings()
    done = restore(file, sqlite_path(settings.database_url), force=force)
    out.print(f"已从 {file} 恢复数据库(备份版本 {done.backup.revision},已升级到最新版本)")


@app.command()
def doctor() -> None:
    """Check the setup (token, database, rules, group, time zone, font, disk), one line each."""
    from bot.doctor import examine

    findings = examine()
    for finding in findings:
        out.print(finding.line, markup=False, soft_wrap=True)
    wrong = sum(not f.ok for f in findings)
    if wrong:
        out.print(f"有 {wrong} 项需要处理。")
        raise typer.Exit(1)
    out.print("一切就绪。")


# ---------------------------------------------------------------- rules
@rules_app.command("check")
@friendly
def rules_check(file: Path) -> None:
    """Check a rules file and report every problem with its place."""
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise RulesError(str(file), [f"cannot read: {exc.strerror}"]) from None
    rules = parse_rules(text, str(file))
    out.print(f"{file}: 规则文件无误({len(rules.categories)} 个类别,{len(rules.items)} 个扣分项)")


@rules_app.command("show")
@friendly
def rules_show() -> None:
    """Print the catalogue: categories, deduction items with aliases, bonus levels, grades."""
    rules = load_rules(Settings().rules_file)
    cats = Table(title=f"{rules.unit.name} 考核类别")
    for h in ("代码", "类别", "基本分"):
        cats.add_column(h)
    for c in rules.categories:
        cats.add_row(c.code, c.name, fmt(c.base))
    out.print(cats)
    items = Table(title="扣分项目")
    for h in ("代码", "类别", "项目", "分值", "单位", "督查员可写"):
        items.add_column(h, overflow="fold")
    for i in rules.items:
        pts = fmt(i.points)
        if i.bearer == "duty" and i.leader_points is not None and i.member_points is not None:
            pts = f"带班{fmt(i.leader_points)}/组员{fmt(i.member_points)}"
        items.add_row(
            i.code, rules.category(i.category).name, i.name, pts, i.unit, "、".join(i.aliases)
        )
    out.print(items)
    bonus = Table(title=f"加分项目(全年不超过 {fmt(rules.bonus.cap)} 分,同一事项按最高级别计一次)")
    for h in ("代码", "类别", "级别与分值"):
        bonus.add_column(h)
    for k in rules.bonus.kinds:
        bonus.add_row(k.code, k.name, "、".join(f"{lv} {fmt(p)}" for lv, p in k.levels.items()))
    out.print(bonus)
    d = rules.duty
    out.print("[bold]督查员的写法[/bold]")
    out.print("  张三 迟到 · 张三、李四 早退 · 王五 旷工2天 · 赵六 迟到 两次")
    out.print("  重名时写科室:张三(办公室) 迟到")
    out.print("  科室共同承担(业务工作):执法监察科 未制定季度执法计划")
    out.print(f"  值班失误:{d.leader_prefix}:张三 {d.member_prefix}:李四、王五 信息不灵")


# ---------------------------------------------------------------- roster
@roster_app.command("import")
@friendly
def roster_import(file: Path) -> None:
    """Import the roster (.csv/.xlsx; 姓名,科室,职务,人员类别,角色,分管科室[,职级])."""
    with _service() as (svc, settings):
        result = svc.import_roster(file, now=settings.now(), actor=DEFAULT_ACTOR)
    out.print(
        f"花名册已导入:新增 {result.added} 人,更新 {result.updated} 人,"
        f"新增科室 {result.departments_added} 个"
    )
    if result.not_in_file:
        err.print(
            f"[yellow]注意:{len(result.not_in_file)} 人不在本次花名册中,仍按在岗考核:"
            f"{'、'.join(result.not_in_file)}。[/yellow]\n"
            "如已调离或离岗,请在花名册中加“状态”列写“离岗”后重新导入。",
            soft_wrap=True,
        )


# ---------------------------------------------------------------- ledger
@app.command()
@friendly
def record(
    text: str,
    on: Annotated[str | None, typer.Option("--date", help="事实发生日期 YYYY-MM-DD")] = None,
    by: Annotated[str, typer.Option("--by", help="记录人")] = DEFAULT_ACTOR,
) -> None:
    """Record a finding exactly as an inspector would message it."""
    with _service() as (svc, settings):
        fact = _date(on, settings)
        finding, recorded = svc.record_finding(
            text, fact_date=fact, by=by, now=settings.now(), source="cli"
        )
    rules = svc.rules
    out.print(f"已记录:{finding.item.name}({rules.category(finding.item.category).name}),{fact}")
    for entry_id, charge in zip(recorded.entry_ids, finding.charges, strict=True):
        out.print(f"  #{entry_id} {charge.person.label} 扣 {fmt(charge.points)} 分({charge.role})")


@app.command()
@friendly
def revoke(
    entry_id: int,
    reason: Annotated[str, typer.Option("--reason", help="撤销原因")],
    by: Annotated[str, typer.Option("--by")] = DEFAULT_ACTOR,
) -> None:
    """Revoke an entry with a reason (the entry stays in the ledger, marked revoked)."""
    with _service() as (svc, settings):
        rev = svc.revoke(entry_id, reason=reason, by=by, now=settings.now())
    out.print(f"记录 #{entry_id} 已撤销(撤销记录 #{rev}):{reason}")


def _bonus(kind: str, target: str, level: str, title: str, on: str | None) -> None:
    with _service() as (svc, settings):
        fact = _date(on, settings)
        rec = svc.add_bonus(
            target=target,
            kind=kind,
            level=level,
            title=title,
            fact_date=fact,
            by=DEFAULT_ACTOR,
            now=settings.now(),
            source="cli",
        )
        pts = svc.rules.bonus_kind(kind).levels[level]
    out.print(f"已加分:{title}({level},{fmt(pts)} 分)→ {target},共 {len(rec.entry_ids)} 人")
    out.print("  记录编号:" + "、".join(f"#{i}" for i in rec.entry_ids))


LevelOpt = Annotated[str, typer.Option("--level", help="国家级|省级|市级|区级")]
TitleOpt = Annotated[str, typer.Option("--title", help="表彰名称或稿件标题")]
DateOpt = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD")]


@bonus_app.command("award")
@friendly
def bonus_award(target: str, level: LevelOpt, title: TitleOpt, on: DateOpt = None) -> None:
    """An honour (表彰) for a person, or for a department (every member gets it)."""
    _bonus("award", target, level, title, on)


@bonus_app.command("article")
@friendly
def bonus_article(target: str, level: LevelOpt, title: TitleOpt, on: DateOpt = None) -> None:
    """A publicity piece (信息稿件) adopted by an organ."""
    _bonus("article", target, level, title, on)


@app.command()
@friendly
def veto(
    name: str,
    reason: Annotated[str, typer.Option("--reason")],
    on: DateOpt = None,
) -> None:
    """Record a one-vote veto (一票否决) for the year of the date."""
    with _service() as (svc, settings):
        fact = _date(on, settings)
        veto_id = svc.add_veto(
            name, reason=reason, fact_date=fact, by=DEFAULT_ACTOR, now=settings.now()
        )
    out.print(f"已记录一票否决 #{veto_id}:{name}({fact.year}年),{reason}")


@app.command()
@friendly
def unveto(
    veto_id: int,
    reason: Annotated[str, typer.Option("--reason", help="撤销原因")],
) -> None:
    """Take back a one-vote veto recorded by mistake (the veto stays on record, revoked)."""
    with _service() as (svc, settings):
        rev = svc.revoke_veto(veto_id, reason=reason, by=DEFAULT_ACTOR, now=settings.now())
    out.print(f"一票否决 #{veto_id} 已撤销(撤销记录 #{rev}):{reason}")


@review_app.command("import")
@friendly
def review_import(file: Path, year: Annotated[int, typer.Option("--year")]) -> None:
    """Import year-end review scores (姓名,述职,分管领导评分,班子评议)."""
    with _service() as (svc, settings):
        n = svc.import_reviews(file, year=year, now=settings.now(), actor=DEFAULT_ACTOR)
    out.print(f"{year}年述职测评已导入:{n} 人")


# ---------------------------------------------------------------- attendance
UNMATCHED = {
    "unknown": "花名册中没有此人",
    "ambiguous": "重名,无法按科室区分({detail})",
    "department": "科室与花名册不符(花名册:{detail})",
    "value": "数值不是整数,请手工录入({detail})",
}
CARD_STATES = {"pending": "待确认", "confirmed": "已确认", "dismissed": "已驳回"}


def _proposal_line(p: AttendanceProposal) -> str:
    """One attendance proposal as the office reads it."""
    line = f"{p.label} {p.item_name} {p.count}{p.unit},扣 {fmt(p.points)} 分"
    if p.recorded:
        line += f"(本月已另有记录 {p.recorded}{p.unit},请核对是否重复)"
    return line


@attendance_app.command("import")
@friendly
def attendance_import(
    file: Path,
    month: Annotated[
        str | None, typer.Option("--month", help="考勤月份 YYYY-MM(默认从表格标题读取)")
    ] = None,
) -> None:
    """Read a monthly attendance export into proposal cards (nothing is recorded yet)."""
    from scoring.attendance import import_attendance, proposal_of

    if not file.is_file():
        raise InputError(f"找不到文件 {file}")
    with _service() as (svc, settings), transaction(svc.engine) as s:
        result = import_attendance(s, svc.rules, file.read_bytes(), file.name,
                                   by=DEFAULT_ACTOR, now=settings.now(), month=month)  # fmt: skip
    out.print(f"{result.file_name}:{result.month} 考勤,{result.people} 人,"
              f"SHA-256 {result.sha256}", markup=False)  # fmt: skip
    out.print(f"新的扣分建议 {len(result.opened)} 条", markup=False)
    for card, p in result.opened:
        out.print(f"  #{card.id} {_proposal_line(p)}", markup=False)
    if result.already:
        out.print(f"已提出过的建议 {len(result.already)} 条,未重复提出", markup=False)
    if result.changed:
        out.print(f"与先前建议次数不同 {len(result.changed)} 条(未改动,请核对):", markup=False)
        for p, card in result.changed:
            out.print(f"  {p.label} {p.item_name}:本表 {p.count}{p.unit},"
                      f"建议 #{card.id} 为 {proposal_of(card).count}{p.unit}"
                      f"({CARD_STATES.get(card.state, card.state)})", markup=False)  # fmt: skip
    if result.unmatched:
        out.print(f"未能对应到花名册的行 {len(result.unmatched)} 行:", markup=False)
        for u in result.unmatched:
            who = f"{u.name}({u.department})" if u.department else u.name
            why = UNMATCHED[u.reason].format(detail=u.detail)
            out.print(f"  第{u.line}行 {who}:{why}", markup=False)
    if result.opened:
        out.print("请用 kaohe attendance list 查看,kaohe attendance confirm 编号|all 确认记录,"
                  "kaohe attendance dismiss 编号 驳回。", markup=False)  # fmt: skip


@attendance_app.command("list")
@friendly
def attendance_list() -> None:
    """The attendance proposals awaiting the office."""
    from scoring.attendance import pending_attendance

    with _service() as (svc, _), svc.session() as s:
        pending = pending_attendance(s)
    if not pending:
        out.print("没有待确认的考勤扣分建议")
        return
    table = Table(title=f"待确认的考勤扣分建议({len(pending)} 条)")
    for h in ("编号", "月份", "人员", "项目", "数量", "扣分", "本月已有记录", "来源文件"):
        table.add_column(h, overflow="fold")
    for card, p in pending:
        table.add_row(str(card.id), p.month, p.label, p.item_name, f"{p.count}{p.unit}",
                      fmt(p.points), f"{p.recorded}{p.unit}" if p.recorded else "",
                      f"{p.file_name} 第{p.line}行")  # fmt: skip
    out.print(table)


def _card_ids(target: str, pending: list[int]) -> list[int]:
    if target.strip().lower() == "all":
        return pending
    if not target.strip().isdigit():
        raise InputError(f"“{target}”不是建议编号,请写编号(kaohe attendance list 可查)或 all")
    return [int(target)]


@attendance_app.command("confirm")
@friendly
def attendance_confirm(target: Annotated[str, typer.Argument(help="建议编号,或 all")]) -> None:
    """Record attendance proposals through the ledger (source attendance, the file's SHA-256)."""
    from scoring.attendance import confirm_attendance, pending_attendance

    failed = 0
    with _service() as (svc, settings):
        with svc.session() as s:
            ids = _card_ids(target, [c.id for c, _ in pending_attendance(s)])
        if not ids:
            out.print("没有待确认的考勤扣分建议")
        for card_id in ids:
            try:
                with transaction(svc.engine) as s:
                    done = confirm_attendance(s, svc.rules, card_id, by=DEFAULT_ACTOR,
                                              by_id=None, now=settings.now())  # fmt: skip
            except KaoheError as exc:
                if len(ids) == 1:
                    raise
                failed += 1
                err.print(f"#{card_id}:{exc.message}", markup=False, soft_wrap=True)
                continue
            entries = "、".join(f"#{i}" for i in done.entry_ids)
            out.print(f"#{card_id} 已记录 {entries}:{_proposal_line(done.proposal)}", markup=False)
    if failed:
        raise typer.Exit(1)


@attendance_app.command("dismiss")
@friendly
def attendance_dismiss(card_id: int) -> None:
    """Dismiss an attendance proposal: nothing is recorded, and it is not proposed again."""
    from scoring.attendance import dismiss_attendance

    with _service() as (svc, settings), transaction(svc.engine) as s:
        p = dismiss_attendance(s, card_id, by=DEFAULT_ACTOR, by_id=None, now=settings.now())
    out.print(f"#{card_id} 已驳回:{p.label} {p.item_name} {p.count}{p.unit}", markup=False)


# ---------------------------------------------------------------- reports
def _number(value: Decimal) -> int | float:
    """JSON numbers at the output edge (the plan's points are exact in binary halves)."""
    return int(value) if value == value.to_integral_value() else float(value)


def standing_json(s: Standing) -> dict[str, Any]:
    """One person's standing in the contract's JSON shape."""
    return {
        "name": s.name,
        "department": s.department,
        "categories": {
            code: {
                "deducted": _number(c.deducted),
                "score": None if c.score is None else _number(c.score),
            }
            for code, c in s.categories.items()
        },
        "bonus": _number(s.bonus),
        "total": _number(s.total),
        "rank": s.rank,
        "grade": s.grade,
        "veto": s.veto,
        "bonus_payout": float(s.bonus_payout),
        "tie_flag": s.tie_flag,
        "review_estimated": s.review_estimated,
    }


def _score_cell(score: Decimal | None) -> str:
    return "—" if score is None else fmt(score)


def standings_table(rules: Rules, p: Period, rows: list[Standing]) -> Table:
    """The standings as a Rich table (CLI and demo)."""
    table = Table(title=f"{rules.unit.name} {p.label} 考核{'结果' if p.annual else '测算'}")
    short = [c.short or c.name[:4] for c in rules.categories]
    for h in ("排名", "科室", "姓名", *short, "加分", "总分", "等次", "系数"):
        table.add_column(
            h, justify="left" if h in ("科室", "姓名", "等次") else "right", no_wrap=True
        )
    for s in rows:
        cells = [_score_cell(s.categories[c.code].score) for c in rules.categories]
        grade = (s.grade or "") + (" ⚑" if s.tie_flag else "") + (" 否决" if s.veto else "")
        table.add_row(
            str(s.rank),
            s.department,
            s.name,
            *cells,
            fmt(s.bonus),
            fmt(s.total),
            grade,
            fmt(s.bonus_payout),
        )
    return table


@app.command()
@friendly
def standings(
    period: Annotated[str, typer.Option("--period", help="2026、2026H1、2026Q3")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Standings for a period: categories, bonus, total, rank (and grade for a year)."""
    p = Period.parse(period)
    with _service() as (svc, settings):
        rows = svc.standings(p)
        rules = svc.rules
        final = _period_final(svc, p, settings)
    if as_json:
        # final: every quarter of the period noticed and its objection window closed
        data = [{**standing_json(s), "final": final} for s in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1))
        sys.stdout.write("\n")
        return
    table = standings_table(rules, p, rows)
    out.print(table)
    if any(s.review_estimated for s in rows):
        out.print("注:述职测评尚未录入,总分按其基本分估算。")
    if any(s.tie_flag for s in rows):
        out.print("⚑ 同分跨越优秀名额,需考核领导小组集体讨论决定。")


@app.command()
@friendly
def export(
    file: Path,
    period: Annotated[str, typer.Option("--period")],
) -> None:
    """Write the Excel export: the summary sheet to sign and a details sheet of every entry."""
    from scoring.export import write_export

    p = Period.parse(period)
    if file.suffix.lower() != ".xlsx":
        raise InputError("导出文件名应以 .xlsx 结尾")
    with _service() as (svc, settings):
        write_export(file, svc.rules, p, svc.standings(p), svc.entries(p), tz=settings.tz)
    out.print(f"已导出 {p.label}:{file}")


# ---------------------------------------------------------------- the bot
def _require_token(settings: Settings) -> None:
    if not settings.bot_token:
        raise InputError("缺少 KAOHE_BOT_TOKEN:请在环境变量或 .env 中填写机器人的 token")


async def _get_me(settings: Settings) -> str:
    """Ask the Bot API who the bot is: its username. A rejected token is an InputError."""
    from telegram import Bot
    from telegram.error import InvalidToken

    try:
        async with Bot(settings.bot_token, base_url=settings.bot_api_base_url) as bot:
            return bot.username
    except InvalidToken:  # 401, or 404 from a wrong base URL
        raise InputError(TOKEN_REJECTED) from None


async def _wait_for_telegram(settings: Settings, *, longest: float = 60) -> None:
    """Until the Bot API answers: a network error is one log line, then a wait that doubles."""
    import asyncio

    from telegram.error import NetworkError

    delay, attempt = 1.0, 1
    while True:
        try:
            await _get_me(settings)
            return
        except NetworkError as exc:  # connection refused, DNS, timeouts, a 5xx gateway
            log.warning(
                "cannot reach the Telegram Bot API (%s); attempt %d failed, retrying in %.0f s",
                exc, attempt, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            delay, attempt = min(delay * 2, longest), attempt + 1


@app.command()
@friendly
def run(
    webhook: Annotated[str | None, typer.Option("--webhook", help="公开的 webhook 地址")] = None,
    listen: Annotated[
        str, typer.Option("--listen", help="webhook 监听 HOST:PORT")
    ] = "127.0.0.1:8443",
) -> None:
    """Start every configured messenger: Telegram (long polling, or a webhook behind a
    reverse proxy), 钉钉 (Stream mode) and the 企业微信 group robot, with one calendar."""
    import asyncio

    from telegram.error import InvalidToken

    settings = Settings()
    if not settings.bot_token and not settings.dingtalk_configured:
        raise InputError(
            "缺少 KAOHE_BOT_TOKEN 或 KAOHE_DINGTALK_CLIENT_ID/KAOHE_DINGTALK_CLIENT_SECRET:"
            "没有配置任何消息渠道,请在环境变量或 .env 中填写 Telegram 机器人的 token,"
            "或钉钉应用的 AppKey 与 AppSecret"
        )
    if webhook:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise InputError("--listen 应写成 HOST:PORT,例如 0.0.0.0:8443")
    with _service(require_schema=False) as (svc, _):
        upgrade(svc.engine)
    logging.getLogger().setLevel(logging.INFO)
    if not settings.bot_token:  # 钉钉 (and 企业微信) only
        from bot.messengers import serve_without_telegram

        asyncio.run(serve_without_telegram(settings))
        return
    try:
        asyncio.run(_wait_for_telegram(settings))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    from bot.app import build_application

    application = build_application(settings)
    try:
        if webhook:
            application.run_webhook(
                listen=host,
                port=int(port),
                url_path=webhook.rstrip("/").rsplit("/", 1)[-1],
                webhook_url=webhook,
                secret_token=settings.webhook_secret or None,
                bootstrap_retries=-1,
            )
        else:
            application.run_polling(bootstrap_retries=-1)
    except InvalidToken:
        raise InputError(TOKEN_REJECTED) from None


def _bot_username(settings: Settings) -> str:
    if settings.bot_username:
        return settings.bot_username
    if not settings.bot_token:
        return "<机器人用户名>"
    import asyncio

    from telegram.error import NetworkError

    try:
        return asyncio.run(_get_me(settings))
    except NetworkError as exc:  # no network: the code is still valid
        err.print(f"[yellow]无法向 Telegram 查询机器人用户名:{redact.mask(str(exc))}[/yellow]")
        return "<机器人用户名>"


@app.command()
@friendly
def invite(name: str) -> None:
    """Print a one-time binding code and the deep link; the last line is the code alone."""
    from datetime import timedelta

    from scoring.accounts import create_invite
    from scoring.db import transaction

    with _service() as (svc, settings):
        username = _bot_username(settings)  # a rejected token stops here, before any code
        now = settings.now()
        with transaction(svc.engine) as s:
            code, label = create_invite(
                s,
                name,
                now=now,
                ttl=timedelta(days=svc.rules.bot.invite_ttl_days),
                actor=DEFAULT_ACTOR,
            )
        days = svc.rules.bot.invite_ttl_days
    out.print(f"{label} 的绑定码({days} 天内有效,只能使用一次):")
    if settings.bot_token or not settings.dingtalk_configured:
        out.print(f"https://t.me/{username}?start={code}")
    if settings.dingtalk_configured:
        out.print(f"钉钉:在与考核助手的单聊中发送“绑定 {code}”")
    out.print(code)


@app.command()
@friendly
def unbind(name: str) -> None:
    """Remove a person's messenger bindings (they can bind again with a new code)."""
    from scoring.accounts import unbind as unbind_person
    from scoring.db import transaction

    with _service() as (svc, settings), transaction(svc.engine) as s:
        label = unbind_person(s, name, now=settings.now(), actor=DEFAULT_ACTOR)
    out.print(f"已解除 {label} 的绑定")


# ---------------------------------------------------------------- the calendar
def _period_final(svc: Service, p: Period, settings: Settings) -> bool:
    from scoring.duties.notices import period_final

    with svc.session() as s:
        return period_final(s, p, settings.now().date())


JOB_STATUS = {
    "done": "已完成",
    "due": "待执行(机器人下一次运行时)",
    "skipped": "不补发(早于机器人启用)",
    "scheduled": "未到时间",
}


@app.command()
@friendly
def jobs() -> None:
    """Every calendar duty: the latest one due and the next one, with whether it is done."""
    from scoring.duties import install_time, job_rows

    with _service() as (svc, settings):
        now = settings.now()
        with svc.session() as s:
            rows = job_rows(s, svc.rules.calendar, settings.tz, now)
            installed = install_time(s, settings.tz)
    table = Table(title=f"定时任务({settings.timezone},现在 {now:%Y-%m-%d %H:%M})")
    for h in ("任务", "编号", "时间", "状态"):
        table.add_column(h, no_wrap=h != "任务")
    for r in rows:
        status = JOB_STATUS[r.status]
        if r.done_at is not None:
            status += f" {r.done_at:%Y-%m-%d %H:%M}"
        table.add_row(r.name, r.key, f"{r.due:%Y-%m-%d %H:%M}", status)
    out.print(table)
    if installed is None:
        out.print("机器人尚未运行过:首次启动时间即启用时间,此前到期的任务不补发。")
    else:
        out.print(f"机器人启用于 {installed:%Y-%m-%d %H:%M};每类任务只补发最近到期的一期。")


@app.command()
@friendly
def bulletin(
    period: Annotated[str, typer.Option("--period", help="2026H1、2026H2")],
    send: Annotated[bool, typer.Option("--send", help="同时发到群聊")] = False,
    folder: Annotated[Path | None, typer.Option("--out", help="输出文件夹")] = None,
) -> None:
    """Render a half-year bulletin (text, chart PNG, Excel) and optionally post it."""
    import asyncio

    from templates.views import Views, plain
    from usecases.bulletins import find_cjk_font, render_bulletin

    p = Period.parse(period)
    with _service() as (svc, settings):
        if send:
            _require_token(settings)
            if settings.group_chat_id is None:
                raise InputError("缺少 KAOHE_GROUP_CHAT_ID:请填写要发送通报的群聊 id")
        with svc.session() as s:
            rendered = render_bulletin(s, svc.rules, p, font=find_cjk_font(), tz=settings.tz)
        target = folder or Path(f"bulletin-{p.label}")
        png, xlsx = rendered.write(target)
        out.print(plain(Views().say(rendered.text)), markup=False)
        out.print()
        out.print(f"文件夹:{target.resolve()}")
        if png is None:
            err.print("[yellow]警告:未找到中文字体,未生成图表(make fonts 可安装)[/yellow]")
        else:
            out.print(f"图表:{png}")
        out.print(f"Excel:{xlsx}")
        if send:
            asyncio.run(_post_bulletin(svc, settings, rendered))
            out.print(f"已发送到群聊 {settings.group_chat_id}")


async def _post_bulletin(svc: Service, settings: Settings, rendered: Any) -> None:
    from telegram import Bot
    from telegram.error import TelegramError

    from handlers.sending import TelegramSender
    from scoring.db import transaction
    from scoring.duties import mark_done
    from templates.views import Views
    from usecases.duties import bulletin_parts
    from usecases.outbox import DeliveryFailed, Undeliverable

    bot = Bot(settings.bot_token, base_url=settings.bot_api_base_url,
              base_file_url=settings.bot_api_file_url)  # fmt: skip
    sender = TelegramSender(bot, Views(), settings.group_chat_id)
    try:
        async with bot:
            for part in bulletin_parts(svc.rules, rendered):
                await sender.to_group(part.say)
    except (TelegramError, Undeliverable, DeliveryFailed) as exc:
        raise InputError(f"发送失败:{exc}") from None
    # the bot will not post this half-year again
    with transaction(svc.engine) as s:
        mark_done(
            s,
            f"bulletin:{rendered.period.label}",
            now=settings.now(),
            detail="kaohe bulletin --send",
        )


def _configured_token() -> str:
    try:
        return Settings().bot_token
    except ValueError:  # a wrong setting is reported by the command itself
        return os.environ.get("KAOHE_BOT_TOKEN", "")


def main() -> None:
    """Entry point: logging configured once, here, with the bot token masked everywhere."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request's URL at INFO, and the Bot API's URLs hold the token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    redact.hide(_configured_token())
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    app()


if __name__ == "__main__":
    main()
