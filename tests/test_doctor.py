"""`kaohe doctor` as a newcomer runs it, against the loopback fake Bot API: one line per
check, what to fix when something is wrong, a non-zero exit then, and never the token."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from fakes.telegram import FakeBotApi
from scoring.db import make_engine, upgrade
from tests.helpers import CliRun, cli_env
from usecases.bulletins import find_cjk_font

TOKEN = "424242:SECRET-doctor-token"
GROUP = -100777


async def doctor(tmp: Path, **env: str) -> CliRun:
    """`kaohe doctor` in its own process (the fake server keeps answering meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "doctor", cwd=tmp, env=cli_env(None, env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return CliRun(("doctor",), proc.returncode, out.decode(), err.decode())


def _migrated(db: Path) -> str:
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _line(run: CliRun, words: str) -> str:
    found = [line for line in run.stdout.splitlines() if words in line]
    assert found, f"no line with {words!r} in:\n{run.output}"
    return found[0]


async def test_a_sound_setup_passes_every_check(tmp_path: Path) -> None:
    async with FakeBotApi(bot_username="bureau_bot") as api:
        api.chats.chat(GROUP)["title"] = "考核工作群"
        run = await doctor(
            tmp_path, KAOHE_BOT_TOKEN=TOKEN, KAOHE_BOT_API_BASE_URL=api.base_url,
            KAOHE_DATABASE_URL=_migrated(tmp_path / "kaohe.db"), KAOHE_GROUP_CHAT_ID=str(GROUP),
        )  # fmt: skip
    assert "Traceback" not in run.output and TOKEN not in run.output
    assert _line(run, "token").startswith("✓") and "@bureau_bot" in run.output
    assert _line(run, "考核工作群").startswith("✓")
    for words in ("数据库", "规则文件", "时区", "磁盘"):
        assert _line(run, words).startswith("✓"), run.output
    assert run.code == (0 if find_cjk_font() else 1), run.output
    assert any(c.method == "getChatMember" for c in api.calls)


async def test_every_mistake_is_one_line_saying_what_to_fix_and_the_exit_is_non_zero(
    tmp_path: Path,
) -> None:
    broken_rules = tmp_path / "rules.toml"
    broken_rules.write_text("[unit]\nname = \n", encoding="utf-8")
    async with FakeBotApi() as api:
        api.fail_next("getMe", status=401)
        run = await doctor(
            tmp_path, KAOHE_BOT_TOKEN=TOKEN, KAOHE_BOT_API_BASE_URL=api.base_url,
            KAOHE_DATABASE_URL=f"sqlite:///{tmp_path / 'nowhere.db'}",
            KAOHE_RULES_FILE=str(broken_rules), KAOHE_TIMEZONE="Mars/Olympus",
        )  # fmt: skip
    assert run.code == 1
    assert "Traceback" not in run.output and TOKEN not in run.output
    assert "KAOHE_BOT_TOKEN" in _line(run, "不接受")
    assert _line(run, "KAOHE_GROUP_CHAT_ID").startswith("✗")
    assert "kaohe init" in _line(run, "数据库")
    assert "kaohe rules check" in _line(run, "规则文件")
    assert _line(run, "时区").startswith("✗")
    assert not (tmp_path / "nowhere.db").exists()  # checking created nothing


async def test_a_group_the_bot_cannot_see_and_a_database_never_initialised(
    tmp_path: Path,
) -> None:
    (tmp_path / "kaohe.db").write_bytes(b"")  # created by hand, never `kaohe init`
    async with FakeBotApi(strict_chats=True) as api:
        run = await doctor(
            tmp_path, KAOHE_BOT_TOKEN=TOKEN, KAOHE_BOT_API_BASE_URL=api.base_url,
            KAOHE_DATABASE_URL=f"sqlite:///{tmp_path / 'kaohe.db'}",
            KAOHE_GROUP_CHAT_ID=str(GROUP),
        )  # fmt: skip
    assert run.code == 1
    assert _line(run, "token").startswith("✓")
    assert "把机器人拉进该群" in _line(run, f"找不到群聊 {GROUP}")
    assert "kaohe init" in _line(run, "尚未初始化")


async def test_a_server_that_cannot_be_reached_is_said_plainly(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        base = api.base_url  # the server stops: nothing listens there any more
    run = await doctor(
        tmp_path, KAOHE_BOT_TOKEN=TOKEN, KAOHE_BOT_API_BASE_URL=base,
        KAOHE_DATABASE_URL=_migrated(tmp_path / "kaohe.db"),
    )  # fmt: skip
    assert run.code == 1
    assert "Traceback" not in run.output and TOKEN not in run.output
    assert "KAOHE_BOT_API_BASE_URL" in _line(run, "无法连接 Telegram")


async def test_a_dingtalk_only_setup_checks_the_apps_credentials_and_never_prints_them(
    tmp_path: Path,
) -> None:
    from fakes.dingtalk import FakeDingTalk

    async with FakeDingTalk() as fake:
        env = {
            "KAOHE_DATABASE_URL": _migrated(tmp_path / "kaohe.db"),
            "KAOHE_DINGTALK_CLIENT_ID": fake.client_id,
            "KAOHE_DINGTALK_OPENAPI_URL": fake.openapi_url,
            "KAOHE_DINGTALK_OAPI_URL": fake.oapi_url,
            "KAOHE_DINGTALK_GROUP_ID": fake.group_id,
        }
        good_run = await doctor(tmp_path, KAOHE_DINGTALK_CLIENT_SECRET=fake.client_secret, **env)
        wrong_run = await doctor(tmp_path, KAOHE_DINGTALK_CLIENT_SECRET="not-the-secret", **env)
    assert _line(good_run, "钉钉应用").startswith("✓") and "Telegram" in good_run.stdout
    assert "缺少 KAOHE_BOT_TOKEN" not in good_run.output
    assert _line(wrong_run, "AppKey/AppSecret").startswith("✗") and wrong_run.code == 1
    for run in (good_run, wrong_run):
        assert "Traceback" not in run.output
        assert fake.client_secret not in run.output and "not-the-secret" not in run.output
