"""The DingTalk baseline: a bare echo robot (no database, no templates) on the same SDK and
OpenAPI client as the bot, answering each 1:1 message with its text.

python -m bench.echo_robot OPENAPI_URL OAPI_URL CLIENT_ID CLIENT_SECRET
"""

from __future__ import annotations

import asyncio
import signal
import sys

import httpx

from dingtalk.openapi import DingTalkApi
from dingtalk.stream import DingTalkStream, Incoming


async def serve(openapi: str, oapi: str, client_id: str, secret: str) -> None:
    """Echo until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient() as http:
        api = DingTalkApi(http=http, client_id=client_id, client_secret=secret,
                          robot_code=client_id, openapi_url=openapi, oapi_url=oapi)  # fmt: skip

        async def echo(incoming: Incoming) -> None:
            await api.send_to_users([incoming.sender_id], "echo", incoming.text)

        stream = DingTalkStream(client_id=client_id, client_secret=secret, openapi_url=openapi,
                                on_message=echo)  # fmt: skip
        await stream.start()
        await stop.wait()
        await stream.stop()


def main() -> None:
    """Run until terminated."""
    asyncio.run(serve(*sys.argv[1:5]))


if __name__ == "__main__":
    main()
