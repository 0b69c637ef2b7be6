"""A loopback fake of the Telegram Bot API.

- ``server``: the aiohttp server, routing, the update queue (long polling, redelivery), the
  record of calls and the scripting (``FakeBotApi``);
- ``methods``: the Bot API methods the bot uses; ``chats``: users, chats and messages;
- ``formatting``: HTML parse mode, entities, UTF-16 lengths; ``media``: files and image sizes;
- ``control``: the ``/control`` endpoints for other processes (``python -m fakes.telegram``).
"""

from fakes.telegram.server import FakeBotApi
from fakes.telegram.wire import ApiCall, ApiError

__all__ = ["ApiCall", "ApiError", "FakeBotApi"]
