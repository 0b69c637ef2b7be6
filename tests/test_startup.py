"""What starting costs: the bot and the CLI load the heavy libraries (spreadsheets and numpy,
charts, pinyin, migrations, 钉钉's SDK) only when a command or a message needs them, so an idle
bot stays small and every `kaohe` command starts quickly (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("openpyxl", "numpy", "matplotlib", "pypinyin", "rapidfuzz", "dingtalk_stream", "aiohttp")

LOADED_BY = """
import json, sys
what = sys.argv[1]
if what == "bot":
    from bot.app import build_application
    from bot.services import Services
    from bot.settings import Settings
    settings = Settings(bot_token="1:X", database_url="sqlite://")
    build_application(settings, Services.build(settings))
else:
    import bot.cli  # what every command imports before it runs
print(json.dumps(sorted(m for m in sys.argv[2:] if m in sys.modules)))
"""


def loaded(what: str, modules: tuple[str, ...]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY, what, *modules],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout)
    return result


def test_a_telegram_bot_starts_without_the_heavy_libraries() -> None:
    assert loaded("bot", HEAVY) == []


def test_kaohe_commands_start_without_what_only_some_of_them_need() -> None:
    assert loaded("cli", (*HEAVY, "alembic", "holidays")) == []
