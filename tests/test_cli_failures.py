"""When `kaohe` fails it says so in words: one line, never a traceback, never the bot token."""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import StringIO
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import HIDDEN, RedactSecrets
from fakes.telegram import FakeBotApi
from tests.helpers import CliRun, cli_env, dump_sqlite, run_cli

TOKEN = "123456789:AAHsecret-token-never-shown_x"
ROSTER = "姓名,科室,职务,人员类别,角色,分管科室\n张三,办公室,科员,公务员,干部职工,\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def bot_api_answering(status: int) -> AsyncIterator[str]:
    """A loopback Bot API answering every method with this status; yields its base URL."""

    async def answer(request: web.Request) -> web.Response:
        description = {401: "Unauthorized", 404: "Not Found"}[status]
        body = {"ok": False, "error_code": status, "description": description}
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    finally:
        await runner.cleanup()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with 张三 on the roster."""
    path = tmp_path / "kaohe.db"
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, "utf-8")
    for args in (("init",), ("roster", "import", str(roster))):
        assert run_cli(*args, db=path, cwd=tmp_path).code == 0
    return path


def assert_one_line_without_the_token(run: CliRun) -> str:
    assert TOKEN not in run.output and TOKEN.split(":")[1] not in run.output
    assert "Traceback" not in run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1, run.output
    return lines[0]


@pytest.mark.parametrize("status", [401, 404])
@pytest.mark.parametrize("command", [("run",), ("invite", "张三")], ids=["run", "invite"])
async def test_a_rejected_token_is_one_line_that_never_shows_it(
    db: Path, tmp_path: Path, status: int, command: tuple[str, ...]
) -> None:
    before = dump_sqlite(db)["invite"]
    async with bot_api_answering(status) as base_url:
        env = {"KAOHE_BOT_TOKEN": TOKEN, "KAOHE_BOT_API_BASE_URL": base_url}
        run = await asyncio.to_thread(run_cli, *command, db=db, cwd=tmp_path, env=env)
    assert run.code != 0
    assert "Telegram 拒绝了机器人 token" in assert_one_line_without_the_token(run)
    assert dump_sqlite(db)["invite"] == before  # no binding code for a bot nobody can reach


async def test_run_with_the_network_down_retries_one_line_at_a_time_until_telegram_answers(
    db: Path, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    env = cli_env(db, {"KAOHE_BOT_TOKEN": TOKEN,
                       "KAOHE_BOT_API_BASE_URL": f"http://127.0.0.1:{port}/bot"})  # fmt: skip
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in bot.stderr or ():
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def next_line(timeout: float = 60) -> str:
        return lines.get(timeout=timeout)

    try:
        retries = [next_line() for _ in range(3)]
        for n, line in enumerate(retries, start=1):
            assert "cannot reach the Telegram Bot API" in line and f"attempt {n} failed" in line
        waits = [float(line.rsplit("retrying in ", 1)[1].split()[0]) for line in retries]
        assert waits == sorted(waits) and waits[-1] > waits[0]  # it backs off
        api = FakeBotApi()
        await api.start(port=port)
        try:
            await api.wait_for("getUpdates", timeout=90)  # the network is back: it polls
            bot.terminate()
            await asyncio.to_thread(bot.wait, 30)
        finally:
            await api.stop()
    finally:
        bot.kill()
        reader.join(10)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    output = "".join(retries + rest)
    assert "Traceback" not in output and TOKEN not in output


def test_an_unexpected_error_is_one_line_naming_the_file_with_its_traceback(
    db: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    run = run_cli("export", "--period", "2026", str(blocker / "x.xlsx"), db=db, cwd=tmp_path)
    assert run.code == 1
    line = assert_one_line_without_the_token(run)
    assert line.startswith("内部错误:")
    report = Path(line.rsplit("详情见 ", 1)[1].rstrip(")"))
    try:
        assert "Traceback (most recent call last)" in report.read_text("utf-8")
    finally:
        report.unlink()


def test_log_lines_never_show_the_token_even_in_a_url_or_a_traceback() -> None:
    redact = RedactSecrets()
    redact.hide(TOKEN)
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redact)
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        url = f"https://api.telegram.org/bot{TOKEN}/getMe"
        logger.warning('HTTP Request: POST %s "HTTP/1.1 401 Unauthorized"', url)
        logger.warning("quoted %s", url.replace(":", "%3A"))
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("bootstrap failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert TOKEN.split(":")[1] not in text
    assert text.count(HIDDEN) == 3 and "RuntimeError" in text
