"""`kaohe doctor`: what a newcomer's setup gets wrong, one line each, with what to fix.

Every check returns a ``Finding`` (ok or not, and the line to print); the CLI prints them
and exits non-zero if any is wrong. The token is never printed: Telegram's own error
messages carry it (PTB's "The token `…` was rejected"), so only our sentences are shown.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from telegram import Bot
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.settings import Settings
from scoring.backup import ledger_state, newest_revision, revision_order
from scoring.db import sqlite_file
from scoring.errors import RulesError
from scoring.evidence import evidence_folder
from scoring.rules import load_rules
from usecases.bulletins import find_cjk_font

MB = 1024 * 1024
MARGIN = 100 * MB  # free space beyond the database's own copies
COPIES = 3  # the database grows; a backup and a restore's staged copy need as much again


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    ok: bool
    text: str

    @property
    def line(self) -> str:
        """The line as printed: ✓ or ✗, then what is fine or what to fix."""
        return f"{'✓' if self.ok else '✗'} {self.text}"


def good(text: str) -> Finding:
    """A check that passed."""
    return Finding(True, text)


def bad(text: str) -> Finding:
    """A check that failed, saying what to fix."""
    return Finding(False, text)


def settings_checked() -> tuple[Settings, set[str]]:
    """The settings (defaults in place of values that are not valid), and those not valid."""
    try:
        return Settings(), set()
    except ValidationError as exc:
        wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    defaults = {name: Settings.model_fields[name].default for name in wrong}
    return Settings(**defaults), wrong


def check_timezone(settings: Settings, wrong: set[str]) -> Finding:
    """The bureau's time zone."""
    if "timezone" in wrong:
        return bad("时区 KAOHE_TIMEZONE 无效:请写成 Asia/Shanghai 这样的时区名")
    return good(f"时区 {settings.timezone}(现在 {settings.now():%Y-%m-%d %H:%M})")


def check_database(settings: Settings) -> Finding:
    """The database reachable, and migrated to the newest revision."""
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    db = sqlite_file(settings.database_url)
    if db is not None and not db.is_file():
        return bad(f"数据库文件 {db} 不存在:请运行 kaohe init")
    try:
        state = ledger_state(settings.database_url)
    except ImportError as exc:
        return bad(f"缺少数据库驱动 {exc.name}:请安装后再试({shown})")
    except Exception as exc:  # any driver's connection error
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return bad(f"数据库无法连接({shown}):{reason};请检查 KAOHE_DATABASE_URL")
    if state.revision is None:
        return bad(f"数据库尚未初始化({shown}):请运行 kaohe init")
    if revision_order(state.revision) < 0:
        return bad(f"数据库版本 {state.revision} 来自更新的考核助手:请升级程序")
    if state.revision != newest_revision():
        return bad(f"数据库版本 {state.revision} 不是最新:请运行 kaohe init 升级")
    return good(f"数据库可以连接,版本 {state.revision} 为最新({shown})")


def check_rules(settings: Settings) -> Finding:
    """The rules file loads and checks."""
    where = settings.rules_file or "内置规则"
    try:
        rules = load_rules(settings.rules_file)
    except RulesError as exc:
        return bad(
            f"规则文件 {exc.source} 有 {len(exc.problems)} 处问题:"
            f"请运行 kaohe rules check {exc.source} 查看"
        )
    except OSError as exc:
        return bad(f"规则文件 {where} 无法读取({exc.strerror}):请检查 KAOHE_RULES_FILE")
    return good(f"规则文件 {where} 无误({len(rules.items)} 个扣分项)")


def check_font() -> Finding:
    """A font that draws Chinese, for the bulletin's chart."""
    font = find_cjk_font()
    if font is None:
        return bad("没有中文字体,通报图表将无法生成:请安装 fonts-wqy-microhei(或运行 make fonts)")
    return good(f"中文字体 {font}")


def check_disk(settings: Settings) -> Finding:
    """Room for the database to grow, a backup and a restore beside it, and the evidence."""
    evidence = evidence_folder(settings.database_url, settings.evidence_dir)
    db = sqlite_file(settings.database_url)
    size = db.stat().st_size if db is not None and db.is_file() else 0
    folder = db.parent if db is not None else evidence
    need = COPIES * size + MARGIN
    free = shutil.disk_usage(_existing(folder)).free
    if free < need:
        return bad(
            f"磁盘空间不足:{_existing(folder)} 所在磁盘剩余 {free / MB:.0f} MB,"
            f"数据库与备份至少需要 {need / MB:.0f} MB;请清理磁盘或换到更大的磁盘"
        )
    if not _writable(evidence):
        return bad(f"证据文件夹 {evidence} 无法写入:请检查权限或设置 KAOHE_EVIDENCE_DIR")
    return good(
        f"磁盘剩余 {free / MB / 1024:.1f} GB(数据库 {size / MB:.1f} MB,证据文件夹 {evidence})"
    )


def _existing(path: Path) -> Path:
    """The path, or its nearest folder that exists."""
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    """Whether files can be written in ``folder`` (or where it would be created)."""
    return os.access(_existing(folder), os.W_OK)


async def check_telegram(settings: Settings, wrong: set[str]) -> list[Finding]:
    """The token accepted (getMe), and the group chat set, found, with the bot in it."""
    if "group_chat_id" in wrong:
        group = bad("KAOHE_GROUP_CHAT_ID 不是数字:请填写群聊 id(一个负数)")
        settings = settings.model_copy(update={"group_chat_id": None})
        return [*(await check_telegram(settings, set()))[:1], group]
    if not settings.bot_token and (settings.dingtalk_configured or settings.wecom_webhook_url):
        return [good("未配置 Telegram(KAOHE_BOT_TOKEN 为空):只用钉钉/企业微信")]
    if not settings.bot_token:
        return [
            bad("缺少 KAOHE_BOT_TOKEN:请填写 @BotFather 给出的 token"),
            _group_unset(settings) or bad("群聊无法检查:请先填写 KAOHE_BOT_TOKEN"),
        ]
    bot = Bot(settings.bot_token, base_url=settings.bot_api_base_url)
    try:
        await bot.initialize()
    except InvalidToken:
        return [
            bad(
                "Telegram 服务器不接受这个 token:请向 @BotFather 核对 KAOHE_BOT_TOKEN"
                "(以及 KAOHE_BOT_API_BASE_URL)"
            ),
            _group_unset(settings) or bad("群聊无法检查:token 未被接受"),
        ]
    except (NetworkError, TelegramError) as exc:
        reason = type(exc).__name__
        return [
            bad(f"无法连接 Telegram 服务器({reason}):请检查网络、代理或 KAOHE_BOT_API_BASE_URL"),
            _group_unset(settings) or bad("群聊无法检查:无法连接 Telegram"),
        ]
    try:
        found = [good(f"机器人 token 已被服务器接受(@{bot.username})")]
        found.append(_group_unset(settings) or await _group(bot, settings))
        return found
    finally:
        await bot.shutdown()


def _group_unset(settings: Settings) -> Finding | None:
    if settings.group_chat_id is None:
        return bad("未设置 KAOHE_GROUP_CHAT_ID:请填写要发通报的群聊 id(一个负数)")
    return None


async def _group(bot: Bot, settings: Settings) -> Finding:
    """The group chat exists, is a group, and has the bot as a member."""
    gid = settings.group_chat_id
    assert gid is not None
    try:
        chat = await bot.get_chat(gid)
        if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return bad(f"KAOHE_GROUP_CHAT_ID={gid} 不是群聊:请填写群聊 id(一个负数)")
        member = await bot.get_chat_member(gid, bot.id)
    except Forbidden:
        return bad(f"机器人已不在群聊 {gid} 中:请把机器人重新拉进群")
    except BadRequest:
        return bad(f"找不到群聊 {gid}:请核对 KAOHE_GROUP_CHAT_ID,并把机器人拉进该群")
    except TelegramError as exc:
        return bad(f"群聊 {gid} 无法检查({type(exc).__name__}):请稍后再试")
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return bad(f"机器人不在群聊“{chat.title}”中:请把机器人拉进群")
    return good(f"群聊“{chat.title}”({gid}):机器人是成员")


async def check_dingtalk(settings: Settings) -> list[Finding]:
    """The app's credentials accepted by DingTalk, and its group set; WeCom's robot set."""
    found: list[Finding] = []
    if settings.dingtalk_configured:
        import httpx

        from dingtalk.openapi import DingTalkApi, DingTalkError

        assert settings.dingtalk_client_secret is not None
        async with httpx.AsyncClient() as http:
            api = DingTalkApi(
                http=http, client_id=settings.dingtalk_client_id,
                client_secret=settings.dingtalk_client_secret,
                robot_code=settings.dingtalk_robot_code,
                openapi_url=settings.dingtalk_openapi_url, oapi_url=settings.dingtalk_oapi_url,
            )  # fmt: skip
            try:
                await api.verify()
                found.append(good("钉钉应用的 AppKey/AppSecret 已被钉钉接受"))
            except DingTalkError as exc:
                what = "无法连接钉钉" if exc.retryable else "钉钉不接受这组 AppKey/AppSecret"
                names = "KAOHE_DINGTALK_CLIENT_ID、KAOHE_DINGTALK_CLIENT_SECRET 与 OPENAPI_URL"
                found.append(bad(f"{what}:请核对 {names}"))
        if not settings.dingtalk_group_id:
            found.append(bad("未设置 KAOHE_DINGTALK_GROUP_ID:请填写钉钉群的 openConversationId"))
    elif settings.dingtalk_client_id or settings.dingtalk_client_secret:
        found.append(bad("钉钉只填了 AppKey 或 AppSecret 之一:两项都要填写"))
    if settings.wecom_webhook_url is not None:
        found.append(good("企业微信群机器人已设置(KAOHE_WECOM_WEBHOOK_URL)"))
    return found


def examine() -> list[Finding]:
    """Every check, in the order a newcomer would fix them."""
    settings, wrong = settings_checked()
    checks: list[Callable[[Settings], Finding]] = [check_database, check_rules]
    found = [
        bad(f"KAOHE_{name.upper()} 的值无效:请改正(其余检查暂按默认值)")
        for name in sorted(wrong - {"timezone", "group_chat_id"})
    ]
    found += asyncio.run(check_telegram(settings, wrong))
    found += asyncio.run(check_dingtalk(settings))
    found += [check(settings) for check in checks]
    found += [check_timezone(settings, wrong), check_font(), check_disk(settings)]
    return found
