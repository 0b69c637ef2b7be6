"""`kaohe run` as a deployment starts it: a missing token is one line; webhook mode serves."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fakes.telegram import FakeBotApi


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env.update(KAOHE_DATABASE_URL=f"sqlite:///{tmp / 'k.db'}", **extra)
    return env


def test_run_without_a_token_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=_env(tmp_path), capture_output=True,
        text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    assert "缺少 KAOHE_BOT_TOKEN" in done.stderr and "KAOHE_DINGTALK_CLIENT_ID" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr + done.stdout


async def test_webhook_mode_sets_the_webhook_checks_the_secret_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    async with FakeBotApi() as api:
        env = _env(tmp_path, KAOHE_BOT_TOKEN="123:HOOK", KAOHE_BOT_API_BASE_URL=api.base_url,
                   KAOHE_WEBHOOK_SECRET="s3cret")  # fmt: skip
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--webhook", "https://kaohe.example/hook",
             "--listen", f"127.0.0.1:{port}"],
            env=env, cwd=tmp_path, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            call = await api.wait_for("setWebhook", timeout=60)
            assert call.params["url"] == "https://kaohe.example/hook"
            assert call.params["secret_token"] == "s3cret"
            update = {
                "update_id": 7, "message": {
                    "message_id": 1, "date": int(time.time()), "text": "/help",
                    "chat": {"id": 4242, "type": "private"},
                    "from": {"id": 4242, "is_bot": False, "first_name": "访客"},
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                },
            }  # fmt: skip
            body = json.dumps(update).encode()
            url = f"http://127.0.0.1:{port}/hook"
            forged = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json"}
            )
            with pytest.raises(urllib.error.HTTPError):  # no secret: refused
                await _post(forged)
            real = urllib.request.Request(url, data=body, headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": "s3cret",
            })  # fmt: skip
            await _post(real)
            answer = await api.wait_for_message(4242, timeout=20)
            assert "绑定码" in (answer.text or "")
        finally:
            bot.terminate()
            bot.wait(20)


async def _post(request: urllib.request.Request) -> None:
    import asyncio

    for _ in range(50):  # the listener may still be starting
        try:
            await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
            return
        except urllib.error.HTTPError:
            raise
        except OSError:
            await asyncio.sleep(0.2)
    raise TimeoutError("the webhook listener did not start")


async def test_run_with_only_dingtalk_configured_answers_in_dingtalk_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    from fakes.dingtalk import FakeDingTalk

    async with FakeDingTalk() as fake:
        fake.add_user("staff-new", "新同事")
        env = _env(
            tmp_path,
            KAOHE_DINGTALK_CLIENT_ID=fake.client_id,
            KAOHE_DINGTALK_CLIENT_SECRET=fake.client_secret,
            KAOHE_DINGTALK_OPENAPI_URL=fake.openapi_url,
            KAOHE_DINGTALK_OAPI_URL=fake.oapi_url,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            await fake.wait_connected(timeout=60)
            fake.inject_text("staff-new", "/help")
            answer = await fake.wait_for_send("staff-new", timeout=30)
            assert "绑定" in answer.text  # an unbound person is told how to bind
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in out + err
        assert fake.client_secret not in out + err
