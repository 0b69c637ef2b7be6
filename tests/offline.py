"""Handler tests in process, as python-telegram-bot tests itself (tests/auxil/networking.py):
the real Application built by ``build_application``, real ``Update`` objects handed to
``process_update``, and a recording ``BaseRequest`` that answers every Bot API call.

Nothing listens on a socket, nothing polls and nothing waits: ``process_update`` runs the
handlers to completion, so when ``say`` or ``press`` returns, all the bot did for that
update is recorded. The answers come from the fake Bot API's world (fakes.telegram: chats,
messages and their edits, files, Telegram's own error descriptions), the one the end-to-end
tests reach over HTTP, so what a person reads is rendered the same way in both.

The JobQueue runs without the calendar's tick (so a conversation's timeout is kept as in
production): the duties run only when a test calls ``bot.duties.run_due_duties``.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.duties import JOB_NAME
from bot.services import Services
from bot.settings import Settings
from fakes.telegram import ApiCall, FakeBotApi
from fakes.telegram.client import answers_query
from fakes.telegram.wire import JSONDict, Upload, decode_param
from tests.harness import USERS, seed

TOKEN = "123456:TEST"
GROUP = -100200
# Where PTB would send requests without ours: nowhere (.invalid never resolves).
BASE_URL = "https://offline.invalid/bot"
FILE_URL = "https://offline.invalid/file/bot"


class OfflineRequest(BaseRequest):
    """PTB's ``OfflineRequest``, answering instead of refusing: every Bot API call is handed to
    ``api`` in process (recorded in ``api.calls``, answered with Telegram's JSON); file
    downloads are served from its files.

    Failures are scripted on ``api`` (``fail_next``: 400 with a description → BadRequest,
    403 → Forbidden, 429 → RetryAfter, 5xx → NetworkError); ``cut`` makes calls fail before
    they reach Telegram, as on a dead network (PTB raises NetworkError).
    """

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self._cut: dict[str, int] = {}

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def cut(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` never reach Telegram."""
        self._cut[method.lower()] = self._cut.get(method.lower(), 0) + times

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if url.startswith(FILE_URL):
            return self._download(url)
        token, name = url.removeprefix(BASE_URL).split("/", 1)
        if self._cut.get(name.lower()):
            self._cut[name.lower()] -= 1
            raise ConnectionError(f"offline: {name} never reached Telegram")
        params: JSONDict = {}
        uploads: dict[str, Upload] = {}
        if request_data is not None:
            params = {k: decode_param(k, v) for k, v in request_data.json_parameters.items()}
            for part, (filename, content, mime) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                uploads[part] = Upload(filename, mime, data)
        status, body = await self.api.answer(name, params, uploads, token)
        return status, json.dumps(body, ensure_ascii=False).encode()

    def _download(self, url: str) -> tuple[int, bytes]:
        path = url.removeprefix(FILE_URL).split("/", 1)[1]
        stored = self.api.files.at_path(path)
        if stored is None:
            return 404, b'{"ok": false, "error_code": 404, "description": "Not Found"}'
        return 200, stored.data


class OfflineBureau:
    """The bound 8-person bureau of tests/harness.py and its bot, driven in process.

    ``say``/``press`` build the update a person's message or button press makes, let the bot
    handle it, and return the bot's first answer to it; ``deliver`` hands over any update
    (again, to redeliver it) and returns every call the bot made for it.
    """

    def __init__(
        self,
        api: FakeBotApi,
        request: OfflineRequest,
        app: Application,
        svc: Services,
        db_path: Path | None = None,
    ) -> None:
        self.api, self.request, self.app, self.svc = api, request, app, svc
        self.db_path = db_path or Path("kaohe.db")  # the SQLite file (evidence sits beside it)
        self.users = dict(USERS)
        self.errors: list[BaseException] = []  # what reached the error handler

    def uid(self, who: str | int) -> int:
        """The Telegram user id of a person of the bureau (an id stays as it is)."""
        return self.users[who] if isinstance(who, str) else who

    def mark(self) -> int:
        """Where the record of calls stands now (for ``since`` and ``told``)."""
        return len(self.api.calls)

    def since(self, mark: int) -> list[ApiCall]:
        """Every Bot API call from ``mark`` on."""
        return self.api.calls[mark:]

    # ----- updates --------------------------------------------------------------------------

    def message(self, who: str | int, text: str | None = None, **kwargs: Any) -> JSONDict:
        """The update of a message from ``who`` (keywords as ``FakeBotApi.inject_message``)."""
        return self.api.inject_message(self.uid(who), text, **kwargs)

    def button(
        self, who: str | int, message: object, label: str | None = None, *, data: str | None = None
    ) -> JSONDict:
        """The update of ``who`` pressing the button ``label`` (or with callback ``data``)."""
        return self.api.inject_callback(self.uid(who), message, data, button=label)

    async def deliver(self, update: JSONDict) -> list[ApiCall]:
        """The bot handles ``update`` (to completion); every call it made meanwhile."""
        mark = self.mark()
        await self.app.process_update(Update.de_json(copy.deepcopy(update), self.app.bot))
        return self.since(mark)

    # ----- a person acts --------------------------------------------------------------------

    async def say(self, who: str | int, text: str | None = None, **kwargs: Any) -> ApiCall:
        """``who`` sends a message (text, ``photo=``/``document=`` with ``caption=``, in
        ``chat_id=``); the bot's first message in that chat."""
        update = self.message(who, text, **kwargs)
        chat = update["message"]["chat"]["id"]
        calls = await self.deliver(update)
        return _first(calls, lambda c: c.outgoing and c.chat_id == chat, f"answer to {text!r}")

    async def send_photo(self, who: str | int, photo: bytes, caption: str | None = None) -> ApiCall:
        """``who`` sends a photo (with a caption); the bot's first answer."""
        return await self.say(who, photo=photo, caption=caption)

    async def press(
        self, who: str | int, message: object, label: str | None = None, *, data: str | None = None
    ) -> ApiCall:
        """``who`` presses a button; the first visible reaction to it (see ``press_update``)."""
        return await self.press_update(self.button(who, message, label, data=data))

    async def press_update(self, update: JSONDict) -> ApiCall:
        """The bot handles a button press; the first visible reaction: the alert it was
        answered with, or a new or edited message in the chat it was pressed in."""
        query = update["callback_query"]
        chat = query["message"]["chat"]["id"]

        def reacts(call: ApiCall) -> bool:
            return answers_query(call, query["id"]) or (call.outgoing and call.chat_id == chat)

        return _first(await self.deliver(update), reacts, f"reaction to {query.get('data')!r}")

    # ----- what people read -----------------------------------------------------------------

    def told(self, who: str | int, since: int = 0) -> ApiCall:
        """The first message the bot sent (or edited) in ``who``'s private chat from ``since``."""
        chat = self.uid(who)
        return _first(self.since(since), lambda c: c.outgoing and c.chat_id == chat, f"{who}")

    def texts_to(self, who: str | int) -> list[str]:
        """Every message text (or caption) the bot sent to a person's private chat, in order."""
        return self.api.messages_to(self.uid(who))

    def card(self, who: str | int) -> JSONDict:
        """The newest message with buttons in a person's private chat, as it stands now."""
        found = self.api.last_message(self.uid(who), with_keyboard=True)
        assert found is not None, f"no message with buttons to {who}"
        return found

    def now_reads(self, message: JSONDict) -> JSONDict:
        """A message the bot sent, as it reads now (after edits)."""
        found = self.api.message(message["chat"]["id"], message["message_id"])
        assert found is not None, message
        return found


def _first(calls: list[ApiCall], check: Callable[[ApiCall], bool], what: str) -> ApiCall:
    for call in calls:
        if check(call):
            return call
    made = [f"{c.method}({c.chat_id})" for c in calls]
    raise AssertionError(f"no {what} among the bot's calls: {made}")


# ----- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bureau's database (schema, roster, everyone bound), built once for the session."""
    folder = tmp_path_factory.mktemp("seeded")
    svc = Services.build(offline_settings(folder / "kaohe.db"))
    try:
        seed(svc, folder)
    finally:
        svc.close()
    return folder / "kaohe.db"


def offline_settings(db: Path, **settings: Any) -> Settings:
    """The bureau's settings: its database, its group, a token; no address of Telegram."""
    return Settings(
        bot_token=TOKEN,
        bot_api_base_url=BASE_URL,
        bot_api_file_url=FILE_URL,
        database_url=f"sqlite:///{db}",
        group_chat_id=GROUP,
        **settings,
    )


def copy_db(source: Path, target: Path) -> None:
    """A fresh copy of a SQLite database (its WAL included)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture
async def bureau(tmp_path: Path, seeded_db: Path) -> AsyncIterator[OfflineBureau]:
    """The bound bureau and its bot, in process; fails the test if a handler crashed."""
    db = tmp_path / "kaohe.db"
    copy_db(seeded_db, db)
    settings = offline_settings(db)
    svc = Services.build(settings)
    api = FakeBotApi()
    request = OfflineRequest(api)
    app = build_application(settings, svc, rate_limit=False, request=request)
    bureau = OfflineBureau(api, request, app, svc, db)

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            bureau.errors.append(context.error)

    app.add_error_handler(record)
    try:
        async with app:
            jobs = app.job_queue
            assert jobs is not None
            for job in jobs.get_jobs_by_name(JOB_NAME):
                job.schedule_removal()
            await jobs.start()
            try:
                yield bureau
            finally:
                await jobs.stop()
    finally:
        svc.close()
    assert bureau.errors == [], f"a handler crashed: {bureau.errors!r}"
