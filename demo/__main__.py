"""`make demo`: a demo bureau, a few months of findings, then a scripted day in the chat.

Everything runs here: a temporary SQLite database, the real bot (PTB's real HTTP stack)
against the loopback fake Bot API server, no token and no network. It prints the
conversation as a transcript, the standings, and writes the Excel export (and the
half-year bulletin, where the calendar is available) to a folder it names.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlmodel import select

from bot.app import build_application
from bot.services import Services
from bot.settings import Settings
from fakes.telegram import ApiCall, ChatClient, FakeBotApi
from fakes.telegram.client import require_sequential
from scoring.accounts import create_invite
from scoring.db import transaction, upgrade
from scoring.errors import KaoheError
from scoring.export import write_export
from scoring.models import Person
from scoring.periods import Period
from scoring.roster import import_roster

log = logging.getLogger(__name__)
console = Console(highlight=False, width=110)
GROUP_CHAT = -1001234567
DEPARTMENTS = ["办公室", "执法监察科", "法规科", "安全生产科", "应急救援科", "综合减灾科"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红"
# the cast of the scripted day (and their Telegram ids)
CAST = {
    "冯科员": ("办公室", "科员", "干部职工", "", 2001),
    "李督查": ("办公室", "主任", "督查员、干部职工", "", 2002),
    "张三": ("执法监察科", "科长", "干部职工", "", 2003),
    "陈局": ("局领导", "副局长", "分管领导、考核领导小组", "执法监察科;办公室", 2004),
    "周局": (
        "局领导",
        "局长",
        "分管领导、考核领导小组",
        "法规科;安全生产科;应急救援科;综合减灾科",
        2005,
    ),
}
DEMO_FINDINGS = ["迟到", "早退", "迟到", "脱岗", "迟到 2次", "笔记不认真", "无故不参加学习",
                 "招商引资少参加", "旷工1天", "报表迟报", "缺岗"]  # fmt: skip


def demo_roster(path: Path, rng: random.Random) -> Path:
    """A bureau of 40: the cast plus generated staff across six departments."""
    rows = ["姓名,科室,职务,人员类别,角色,分管科室,职级"]
    for name, (dept, pos, roles, leads, _uid) in CAST.items():
        rank = "正科级" if pos in ("主任", "科长") else ""
        rows.append(f"{name},{dept},{pos},公务员,{roles},{leads},{rank}")
    names: set[str] = set(CAST)
    while len(names) < 40:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])
        if name in names:
            continue
        names.add(name)
        kind = rng.choice(["公务员", "公务员", "事业人员"])
        rank = rng.choice(["", "", "副科级"])
        rows.append(f"{name},{rng.choice(DEPARTMENTS)},科员,{kind},干部职工,,{rank}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def seed_history(svc: Services, rng: random.Random, year: int) -> int:
    """A few months of spot checks, recorded through the same parser an inspector uses."""
    with svc.core.session() as s:
        names = [p.name for p in s.exec(select(Person)).all() if p.name not in ("陈局", "周局")]
    count = 0
    day = date(year, 1, 5)
    while day < date(year, 6, 30):
        for _ in range(rng.randint(1, 4)):
            text = f"{rng.choice(names)} {rng.choice(DEMO_FINDINGS)}"
            now = datetime.combine(day, datetime.min.time(), svc.settings.tz) + timedelta(hours=10)
            svc.core.record_finding(text, fact_date=day, by="李督查(办公室)", now=now)
            count += 1
        day += timedelta(days=rng.randint(5, 12))
    svc.core.record_finding(
        "执法监察科 未制定季度执法计划", fact_date=date(year, 4, 8), by="李督查(办公室)",
        now=datetime(year, 4, 8, 10, tzinfo=svc.settings.tz),
    )  # fmt: skip
    svc.core.add_bonus(
        target="法规科", kind="award", level="市级", title="法治宣传先进集体",
        fact_date=date(year, 5, 20), by="管理员", now=datetime(year, 5, 20, tzinfo=svc.settings.tz),
    )  # fmt: skip
    return count + 1


class Transcript:
    """Plays people in the chat and prints what they and the bot said."""

    def __init__(self, api: FakeBotApi, users: dict[str, int]) -> None:
        self.chat = ChatClient(api, users)
        self.users = users
        self.names = {uid: name for name, uid in users.items()}

    def _who(self, chat_id: object) -> str:
        if chat_id == GROUP_CHAT:
            return "群"
        return self.names.get(int(str(chat_id)), str(chat_id))

    def _show(self, calls: list[ApiCall]) -> None:
        for call in calls:
            method = call.method
            if method == "answerCallbackQuery" and call.params.get("text"):
                console.print(f"    [magenta]bot ⇢ 提示[/magenta] {call.params['text']}")
            if not call.ok or not method.startswith(("send", "edit")):
                continue
            verb = "改为" if method.startswith("edit") else "→"
            text = _plain(call)
            buttons = _buttons(call)
            console.print(f"    [green]bot {verb} {self._who(call.chat_id)}[/green]")
            for line in text.splitlines():
                console.print(f"      {line}")
            if buttons:
                console.print("      " + " ".join(f"[reverse] {b} [/reverse]" for b in buttons))

    async def say(self, who: str, text: str | None = None, **kw: Any) -> list[ApiCall]:
        """A person sends a message; the bot's reactions are printed and returned."""
        mark = self.chat.mark()
        shown = text or (f"[照片] {kw.get('caption', '')}" if "photo" in kw else "")
        console.print(f"[bold cyan]{who}[/bold cyan]: {shown}")
        self.chat.send(who, text, **kw)
        calls = await self.chat.after(mark)
        self._show(calls)
        return calls

    async def press(self, who: str, message: ApiCall, button: str) -> list[ApiCall]:
        """A person presses a button under a bot message."""
        mark = self.chat.mark()
        console.print(f"[bold cyan]{who}[/bold cyan] 点击 [reverse] {button} [/reverse]")
        self.chat.tap(who, message, button)
        calls = await self.chat.after(mark)
        self._show(calls)
        return calls


def _plain(call: ApiCall) -> str:
    text = call.text or call.params.get("caption") or ""
    if call.method in ("sendPhoto", "sendDocument"):
        kind = "图片" if call.method == "sendPhoto" else "文件"
        name = next(iter(call.filenames.values()), "")
        text = f"[{kind}{' ' + name if name else ''}] {text}"
    return re.sub(r"<[^>]+>", "", str(text))


def _buttons(call: ApiCall) -> list[str]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def last_with_buttons(calls: list[ApiCall]) -> ApiCall:
    """The latest bot message in these calls that carries buttons."""
    for call in reversed(calls):
        if _buttons(call):
            return call
    raise RuntimeError("the bot showed no buttons")


Step = Callable[[Transcript, Services], Awaitable[None]]


async def inspector_spot_check(t: Transcript, svc: Services) -> None:
    """The office's spot check: a finding, its card, confirm, and the notice."""
    card = last_with_buttons(await t.say("李督查", "冯科员 迟到"))
    await t.press("李督查", card, "确认")
    card = last_with_buttons(await t.say("李督查", photo=_demo_photo(), caption="张三 工作日饮酒"))
    await t.press("李督查", card, "确认")
    hint = last_with_buttons(await t.say("李督查", "冯课员 早退"))
    card = last_with_buttons(await t.press("李督查", hint, "冯科员(办公室)"))
    await t.press("李督查", card, "取消")


async def staff_check_score(t: Transcript, svc: Services) -> None:
    """A staff member asks for their score."""
    await t.say("冯科员", "/notes 学习《安全生产法》第三章,重点理解生产经营单位的主体责任")
    await t.say("冯科员", "/score")


async def claim_and_approval(t: Transcript, svc: Services) -> None:
    """A bonus claim with evidence, approved by the leader in charge (when claims exist)."""
    try:
        import handlers.claims  # noqa: F401
    except ImportError:
        return
    calls = await t.say("张三", "/claim")
    calls = await t.press("张三", last_with_buttons(calls), "表彰")
    calls = await t.press("张三", last_with_buttons(calls), "省级")
    calls = await t.say("张三", "全省应急管理系统先进个人")
    await t.press("张三", last_with_buttons(calls), "今天")
    calls = await t.say("张三", photo=_demo_photo(), caption="证书")
    approval = [c for c in calls if c.chat_id == t.users["陈局"] and _buttons(c)]
    if approval:
        await t.press("陈局", approval[-1], "批准")


def _demo_photo() -> bytes:
    """A tiny real PNG as photo evidence."""
    import base64

    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )


async def play_day(
    svc: Services, settings: Settings, api: FakeBotApi, users: dict[str, int]
) -> None:
    """Bind the cast through real invite codes, then play the scripted day."""
    app = build_application(settings, svc, rate_limit=False)
    require_sequential(app)
    t = Transcript(api, users)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            console.rule("绑定账号(kaohe invite 生成的一次性绑定码)")
            for name in users:
                await t.say(name, f"/start {invite_code(svc, name)}")
            from demo.vote import short_vote

            for title, step in (
                ("督查员抽查", inspector_spot_check),
                ("加分申报与审批", claim_and_approval),
                ("查询得分", staff_check_score),
                ("年终述职测评:民主评议(无记名)", short_vote),
            ):
                console.rule(title)
                await step(t, svc)
        finally:
            await app.updater.stop()
            await app.stop()
            svc.outbox.senders.pop("tg", None)  # Telegram's part of the demo is over


def invite_code(svc: Services, name: str) -> str:
    """A fresh binding code, as `kaohe invite` makes it."""
    with transaction(svc.engine) as s:
        code, _ = create_invite(s, name, now=svc.now(), ttl=timedelta(days=7), actor="管理员")
    return code


def print_standings(svc: Services, period: Period) -> None:
    """The standings table, as `kaohe standings` prints it."""
    from bot.cli import standings_table

    console.print(standings_table(svc.rules, period, svc.core.standings(period)))


async def run_demo(out_dir: Path, messengers: tuple[str, ...] = ("telegram", "dingtalk")) -> None:
    """The whole demo: the day in Telegram, then in 钉钉 (or one of them)."""
    rng = random.Random(2026)
    workdir = Path(tempfile.mkdtemp(prefix="kaohe-demo-"))
    api = FakeBotApi(bot_username="kaohe_demo_bot")
    await api.start()
    try:
        settings = Settings(
            bot_token="123456:DEMO", bot_api_base_url=api.base_url,
            bot_api_file_url=api.file_url, database_url=f"sqlite:///{workdir / 'kaohe.db'}",
            group_chat_id=GROUP_CHAT, rules_file=None,
        )  # fmt: skip
        svc = Services.build(settings)
        year = svc.now().year
        upgrade(svc.engine)
        with transaction(svc.engine) as s:
            result = import_roster(s, demo_roster(workdir / "roster.csv", rng), rules=svc.rules,
                                   now=svc.now(), actor="管理员")  # fmt: skip
        n = seed_history(svc, rng, year)
        console.rule("考核助手 演示")
        console.print(f"数据库:{workdir / 'kaohe.db'}(临时 SQLite)")
        console.print(f"花名册:{result.added} 人;上半年督查记录 {n} 条(经同一解析器录入)")
        console.print(f"Bot API:本机模拟服务器 {api.base_url}(无需 token,不联网)")
        users = {name: spec[4] for name, spec in CAST.items()}
        if "telegram" in messengers:
            await play_day(svc, settings, api, users)
        if "dingtalk" in messengers:
            from demo.dingtalk import play_dingtalk_day

            await play_dingtalk_day(svc, settings, list(CAST), _demo_photo(), console, invite_code)
        from demo.attendance import play_attendance

        console.rule("考勤导出变为扣分建议(办公室在命令行导入并确认)")
        play_attendance(settings.database_url, workdir, svc.now().date(), console)
        console.rule(f"{year} 年度测算排名")
        print_standings(svc, Period.parse(str(year)))
        out_dir.mkdir(parents=True, exist_ok=True)
        annual = Period.parse(str(year))
        xlsx = write_export(
            out_dir / f"kaohe-{year}.xlsx", svc.rules, annual, svc.core.standings(annual),
            svc.core.entries(annual), tz=svc.settings.tz,
        )  # fmt: skip
        console.print(f"Excel 导出:{xlsx}")
        await half_year_bulletin(svc, out_dir, Period.parse(f"{year}H1"))
        svc.close()
    finally:
        await api.stop()


async def half_year_bulletin(svc: Services, out_dir: Path, period: Period) -> None:
    """The half-year bulletin as it would be posted."""
    console.rule(f"{period.label} 半年测算通报(将发往群聊)")
    text, png, xlsx = await svc.bulletin_files(out_dir, period)
    console.print(text)
    console.print(f"图表:{png}")
    console.print(f"Excel:{xlsx}")


def main() -> None:
    """Entry point for `python -m demo [--messenger telegram|dingtalk]` (default: both)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m demo", description="考核助手演示")
    parser.add_argument("--messenger", choices=("telegram", "dingtalk"), default=None,
                        help="只演示一个消息渠道(默认 Telegram 与钉钉都演示)")  # fmt: skip
    args = parser.parse_args()
    messengers = (args.messenger,) if args.messenger else ("telegram", "dingtalk")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out_dir = Path("demo-output").resolve()
    try:
        asyncio.run(run_demo(out_dir, messengers))
    except KaoheError as exc:
        console.print(f"[red]演示失败:{exc.message}[/red]")
        raise SystemExit(1) from None
    console.rule()
    console.print(f"演示完成。输出文件在:{out_dir}")


if __name__ == "__main__":
    main()
