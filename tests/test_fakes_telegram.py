"""The fake Bot API (fakes/telegram), driven by a real PTB Application over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import subprocess
import sys
import urllib.request
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fakes.telegram import ChatClient, FakeBotApi
from fakes.telegram.formatting import parse_html

USER = 4242


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def build_app(api: FakeBotApi) -> Application:
    return (
        ApplicationBuilder()
        .token("123:ABC")
        .base_url(api.base_url)
        .base_file_url(api.file_url)
        .build()
    )


@asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def test_echo_roundtrip(api: FakeBotApi) -> None:
    app = build_app(api)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with running(app):
        update = api.inject_message(USER, "你好", first_name="张三")
        call = await api.wait_for_message(USER)
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == USER  # form value "4242", JSON-decoded
    assert call.result["from"]["username"] == "kaohe_bot"
    assert call.result["from"]["id"] == 123
    assert call.result["chat"] == {"id": USER, "type": "private", "first_name": "张三"}
    assert call.result["message_id"] > update["message"]["message_id"]
    assert api.messages_to(USER) == ["echo: 你好"]
    assert api.sent(method="getMe") == []  # not an outgoing message
    assert [c.method for c in api.calls][:2] == ["getMe", "deleteWebhook"]
    assert api.pending_updates == []  # the final getUpdates confirmed it


async def test_command_with_args(api: FakeBotApi) -> None:
    seen: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(list(context.args or []))
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "<b>欢迎</b>", ParseMode.HTML)

    app = build_app(api)
    app.add_handler(CommandHandler("start", start))
    async with running(app):
        api.inject_message(USER, "/start abc")
        call = await api.wait_for_message(USER)
    assert seen == [["abc"]]
    assert call.params["text"] == "<b>欢迎</b>"
    assert call.result["text"] == "欢迎"
    assert call.result["entities"] == [{"type": "bold", "offset": 0, "length": 2}]


async def test_callback_button(api: FakeBotApi) -> None:
    pressed: list[str] = []

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = [[InlineKeyboardButton("确认", callback_data="confirm:7")]]
        await update.effective_message.reply_text(
            "确认吗？", reply_markup=InlineKeyboardMarkup(keyboard)
        )

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        pressed.append(query.data)
        await query.answer("好的")
        await query.edit_message_text("已确认")

    app = build_app(api)
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(on_press))
    async with running(app):
        api.inject_message(USER, "/menu")
        sent = await api.wait_for_message(USER)
        api.inject_callback(USER, sent.result, button="确认")
        answer = await api.wait_for("answerCallbackQuery")
        edit = await api.wait_for("editMessageText")
    assert pressed == ["confirm:7"]
    assert answer.ok and answer.params["text"] == "好的"
    assert edit.result["text"] == "已确认"
    assert "reply_markup" not in edit.result  # editing text without markup drops the keyboard
    assert api.message(USER, sent.result["message_id"])["text"] == "已确认"  # type: ignore[index]


async def test_photo_download(api: FakeBotApi) -> None:
    png = tiny_png()
    got: list[bytes] = []

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.photo
        assert message.caption == "我的证明"
        file = await context.bot.get_file(message.photo[-1].file_id)
        got.append(bytes(await file.download_as_bytearray()))
        await message.reply_text("收到")

    app = build_app(api)
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    async with running(app):
        update = api.inject_message(USER, photo=png, caption="我的证明")
        await api.wait_for_message(USER)
    assert got == [png]
    size = update["message"]["photo"][-1]
    assert (size["width"], size["height"]) == (3, 2)


async def test_send_document_bytes_recorded(api: FakeBotApi) -> None:
    payload = bytes(range(256)) * 50
    async with build_app(api) as app:
        message = await app.bot.send_document(USER, payload, filename="报表.xlsx", caption="月报")
    call = api.sent(USER, "sendDocument")[0]
    assert call.files["document"] == payload
    assert call.filenames["document"] == "报表.xlsx"
    assert message.document is not None and message.document.file_name == "报表.xlsx"
    assert message.caption == "月报"
    assert api.file_bytes(message.document.file_id) == payload


async def test_redelivered_update_arrives_twice(api: FakeBotApi) -> None:
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)
        await echo(update, context)

    app = build_app(api)
    app.add_handler(MessageHandler(filters.TEXT, record))
    async with running(app):
        update = api.inject_message(USER, "提交")
        await api.wait_for_message(USER)
        mark = len(api.calls)
        api.redeliver(update["update_id"])
        await api.wait_for_message(USER, since=mark)
    assert seen == [update["update_id"], update["update_id"]]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_scripted_429_raises_retry_after(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=429, retry_after=7)
    async with build_app(api) as app:
        with pytest.raises(RetryAfter) as info:
            await app.bot.send_message(USER, "hi")
        assert "7" in str(info.value)
        await app.bot.send_message(USER, "hi again")  # only the next call fails
    failed, succeeded = api.calls[-2:]
    assert (failed.ok, failed.status, succeeded.ok) == (False, 429, True)
    assert api.messages_to(USER) == ["hi again"]


async def test_realistic_errors(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        bot = app.bot
        sent = await bot.send_message(USER, "same")
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("same", USER, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, "a <br> b", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)reads HTML only"):  # the bot sends nothing else
            await bot.send_message(USER, "*得分*", parse_mode=ParseMode.MARKDOWN_V2)
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(USER, "长" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            button = InlineKeyboardButton("x", callback_data="d" * 65)
            await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup([[button]]))
        assert await bot.delete_message(USER, sent.message_id)
        with pytest.raises(BadRequest, match="not found"):
            await bot.delete_message(USER, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query("nope")
        api.block(USER)
        with pytest.raises(Forbidden):
            await bot.send_message(USER, "hi")


async def test_misc_methods(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        bot = app.bot
        assert bot.username == "kaohe_bot"
        await bot.set_my_commands([("start", "开始"), ("score", "查分")])
        commands = await bot.get_my_commands()
        assert [c.command for c in commands] == ["start", "score"]
        chat = await bot.get_chat(-1001234567890)
        assert chat.type == "supergroup"
        assert await bot.send_chat_action(USER, "typing")
        photo = await bot.send_photo(USER, tiny_png(5, 4), caption="<i>图</i>", parse_mode="HTML")
        assert photo.photo[-1].width == 5 and photo.caption == "图"
        data = await (await bot.get_file(photo.photo[-1].file_id)).download_as_bytearray()
        assert bytes(data) == tiny_png(5, 4)
        assert await bot.do_api_request("someFutureMethod", api_kwargs={"x": 1})
    assert (api.calls[-1].method, api.calls[-1].params) == ("someFutureMethod", {"x": 1})


async def test_second_poller_gets_conflict(api: FakeBotApi) -> None:
    # PTB keeps a one-connection pool for getUpdates, so the rival poller is a second Bot.
    async with build_app(api) as app, Bot("123:ABC", base_url=api.base_url) as rival:
        first = asyncio.create_task(app.bot.get_updates(timeout=5))
        await api.wait_until_polling()
        assert await rival.get_updates(timeout=0) == ()
        with pytest.raises(Conflict):
            await first


async def test_a_stopped_bots_parked_poll_does_not_answer_for_the_next_bot(api: FakeBotApi) -> None:
    async with build_app(api) as app, Bot("123:ABC", base_url=api.base_url) as next_bot:
        old = asyncio.create_task(app.bot.get_updates(timeout=5))
        await api.wait_until_polling()
        mark = api.poll_mark  # the old bot is gone from here on; its poll stays parked
        assert api.polling and not api.updates.polling_after(mark)
        new = asyncio.create_task(next_bot.get_updates(timeout=5))
        await api.wait_until_polling(after=mark)
        with pytest.raises(Conflict):
            await old
        api.inject_message(USER, "hi")
        assert [u.message.text for u in await new if u.message] == ["hi"]


async def test_webhook_blocks_polling(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        await app.bot.set_webhook("https://example.invalid/hook")
        assert api.webhook is not None
        with pytest.raises(Conflict):
            await app.bot.get_updates()
        await app.bot.delete_webhook()
        assert await app.bot.get_updates() == ()


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


async def test_control_endpoints(api: FakeBotApi) -> None:
    app = build_app(api)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    control = api.control_url
    async with running(app):
        await asyncio.to_thread(_post, f"{control}/message", {"user_id": USER, "text": "远程"})
        waited = await asyncio.to_thread(_get, f"{control}/wait?chat_id={USER}&timeout=3")
        assert waited["result"]["result"]["text"] == "echo: 远程"
        photo = base64.b64encode(tiny_png()).decode()
        update = await asyncio.to_thread(
            _post, f"{control}/message", {"user_id": USER, "photo": photo, "caption": "c"}
        )
        assert update["result"]["message"]["photo"][0]["width"] == 3
        await asyncio.to_thread(_post, f"{control}/fail", {"method": "getChat", "status": 500})
        calls = await asyncio.to_thread(_get, f"{control}/calls?method=sendMessage")
        assert [c["result"]["text"] for c in calls["result"]] == ["echo: 远程"]
    with pytest.raises(Exception, match="Internal Server Error"):
        async with build_app(api) as second:
            await second.bot.get_chat(USER)
    await asyncio.to_thread(_post, f"{control}/reset", {})
    assert api.calls == [] and api.pending_updates == []


def test_html_parser() -> None:
    text, entities = parse_html("<b>张三</b> &lt;优秀&gt; 😀<i>x</i>")
    assert text == "张三 <优秀> 😀x"
    assert entities[-1] == {"type": "italic", "offset": 10, "length": 1}  # 😀 is 2 UTF-16 units


async def test_settle_returns_only_after_a_slow_handler_has_answered(api: FakeBotApi) -> None:
    async def slow_echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        if update.effective_message.text == "慢":
            await asyncio.sleep(0.5)  # still working after the update has been fetched
        await echo(update, context)

    app = build_app(api)
    app.add_handler(MessageHandler(filters.TEXT, slow_echo))
    chat = ChatClient(api, {"张三": USER})
    async with running(app):
        chat.send("张三", "慢")
        chat.send("张三", "快")
        await chat.settle()
        assert chat.texts_to("张三") == ["echo: 慢", "echo: 快"]
        mark = chat.mark()
        chat.send("张三", "再来")
        assert [c.text for c in await chat.after(mark) if c.outgoing] == ["echo: 再来"]


PRODUCT_WITHOUT_FAKES = """
import importlib, pkgutil, sys
sys.modules["fakes"] = None
if sys.argv[1] == "telegram":  # a Telegram-only bureau needs no aiohttp (钉钉's SDK does)
    sys.modules["aiohttp"] = None
    sys.modules["dingtalk_stream"] = None
packages = sys.argv[2].split(",")
for name in packages:
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        skip = info.name.endswith("__main__") or ".migrations" in info.name
        if not skip and not (sys.argv[1] == "telegram" and info.name == "bot.messengers"):
            importlib.import_module(info.name)
from bot.app import build_application
from bot.services import Services
from bot.settings import Settings
settings = Settings(bot_token="1:X", database_url="sqlite://")
build_application(settings, Services.build(settings))
"""
PRODUCT = "scoring,usecases,templates,handlers,bot"


@pytest.mark.parametrize(
    ("mode", "packages"),
    [("telegram", PRODUCT), ("every messenger", f"{PRODUCT},dingtalk,wecom")],
)
def test_the_product_runs_without_the_fakes(mode: str, packages: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PRODUCT_WITHOUT_FAKES, mode, packages],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
