"""An aiohttp server on 127.0.0.1 that a fake builds on: start, stop, its base URL."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any, Self

from aiohttp import web

from fakes.waiting import Changes

logger = logging.getLogger(__name__)


def unused_port() -> int:
    """A loopback port nothing listens on (for "DingTalk cannot be reached")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON answer with Chinese left readable, as the real servers send it."""
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


class LoopbackServer:
    """Base of a fake: ``async with Fake() as fake:`` listens on a free loopback port."""

    name = "fake server"
    max_body = 30 * 1024 * 1024

    def __init__(self) -> None:
        self.changes = Changes()
        self.closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{self._host}:{self._port}"

    def add_routes(self, app: web.Application) -> None:
        """Register the fake's endpoints (subclasses)."""
        raise NotImplementedError

    async def on_stop(self) -> None:
        """Wake and end whatever the fake has running before the server goes (subclasses)."""

    async def hang(self) -> web.Response:
        """Answer nothing until the fake stops (for the caller's timeout to end the call)."""
        await self.closing.wait()
        return json_response({"errmsg": "fake stopping"}, status=503)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError(f"{self.name} is already running")
        self.closing.clear()
        app = web.Application(client_max_size=self.max_body)
        self.add_routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self._host = host
        self._port = int(runner.addresses[0][1])
        logger.info("%s listening on %s", self.name, self.base_url)

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner is None:
            return
        self.closing.set()
        await self.on_stop()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self.changes.fire()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
