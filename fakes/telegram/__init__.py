"""A loopback fake of the Telegram Bot API, and the chat client that drives a bot through it.

- ``server``: the aiohttp server, routing, the update queue (long polling, redelivery), the
  record of calls and the scripting (``FakeBotApi``);
- ``methods``: the Bot API methods the bot uses; ``chats``: users, chats and messages;
- ``formatting``: HTML parse mode, entities, UTF-16 lengths; ``media``: files and image sizes;
- ``control``: the ``/control`` endpoints for other processes (``python -m fakes.telegram``);
- ``client``: ``ChatClient``, what tests/harness.py, demo/ and bench/ write to the bot with.
"""

from fakes.telegram.client import ChatClient
from fakes.telegram.server import FakeBotApi
from fakes.telegram.wire import ApiCall, ApiError

__all__ = ["ApiCall", "ApiError", "ChatClient", "FakeBotApi"]
