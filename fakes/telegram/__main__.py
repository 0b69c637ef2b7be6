"""``python -m fakes.telegram [--port 8081]``: a FakeBotApi as a process of its own.

It prints its ``base_url`` on the first line of stdout; other processes drive it through the
``/control/...`` endpoints (fakes/telegram/control.py). SIGTERM or Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

from fakes.telegram.server import FakeBotApi

logger = logging.getLogger("fakes.telegram")


@contextlib.contextmanager
def _stop_on_sigterm(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def serve(host: str, port: int, bot_username: str) -> None:
    """Run a FakeBotApi until SIGTERM/Ctrl-C; prints base_url as the first stdout line."""
    stop = asyncio.Event()
    api = FakeBotApi(bot_username=bot_username)
    await api.start(host, port)
    try:
        print(api.base_url, flush=True)
        logger.info("file_url %s, control %s", api.file_url, api.control_url)
        with _stop_on_sigterm(stop):
            await stop.wait()
    finally:
        await api.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m fakes.telegram", description="Loopback fake Telegram Bot API server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--bot-username", default="kaohe_bot")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.bot_username))


if __name__ == "__main__":
    main()
