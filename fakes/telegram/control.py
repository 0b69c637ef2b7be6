"""``/control/...``: how another process drives a FakeBotApi (``python -m fakes.telegram``).

POST ``update``, ``message``, ``callback``, ``redeliver``, ``fail``, ``reset``, ``wait`` with a
JSON body (or query parameters); GET ``calls`` and ``wait``. Each answers
``{"ok": true, "result": ...}``, or 400 for a bad request and 408 when a wait timed out.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakes.telegram.wire import JSONDict, as_int, json_response

if TYPE_CHECKING:
    from fakes.telegram.server import FakeBotApi

Endpoint = Callable[[JSONDict], Awaitable[Any]]


def control_routes(api: FakeBotApi) -> list[web.RouteDef]:
    """The control endpoints of ``api``."""
    control = _Control(api)
    posts: dict[str, Endpoint] = {
        "update": control.update,
        "message": control.message,
        "callback": control.callback,
        "redeliver": control.redeliver,
        "fail": control.fail,
        "reset": control.reset,
        "wait": control.wait,
    }
    routes = [web.post(f"/control/{name}", _handler(func)) for name, func in posts.items()]
    routes.append(web.get("/control/calls", control.calls))
    routes.append(web.get("/control/wait", _handler(control.wait)))
    return routes


def _handler(func: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            result = await func(await _body(request))
        except TimeoutError as exc:
            return json_response({"ok": False, "description": str(exc)}, status=408)
        except (KeyError, LookupError, TypeError, ValueError) as exc:
            return json_response({"ok": False, "description": repr(exc)}, status=400)
        return json_response({"ok": True, "result": result})

    return handle


async def _body(request: web.Request) -> JSONDict:
    body: JSONDict = dict(request.query)
    if request.body_exists:
        payload = await request.json()
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        body.update(payload)
    return body


def _b64(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else b""


class _Control:
    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    async def update(self, body: JSONDict) -> JSONDict:
        return self.api.inject_update(body)

    async def message(self, body: JSONDict) -> JSONDict:
        document = body.get("document")
        if isinstance(document, dict):
            document = (str(document.get("filename", "file")), _b64(document.get("data")))
        elif isinstance(document, list):
            document = (str(document[0]), _b64(document[1]))
        return self.api.inject_message(
            int(body["user_id"]),
            body.get("text"),
            chat_id=as_int(body.get("chat_id")),
            first_name=body.get("first_name"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            photo=_b64(body["photo"]) if body.get("photo") else None,
            caption=body.get("caption"),
            document=document,
            reply_to=as_int(body.get("reply_to")),
            chat_title=body.get("chat_title"),
        )

    async def callback(self, body: JSONDict) -> JSONDict:
        user_id = int(body["user_id"])
        chat_id = as_int(body.get("chat_id")) or user_id
        message_id = as_int(body.get("message_id"))
        if message_id is None:
            latest = self.api.last_message(chat_id, with_keyboard=True)
            if latest is None:
                raise LookupError(f"no bot message with a keyboard in chat {chat_id}")
            message_id = int(latest["message_id"])
        return self.api.inject_callback(
            user_id, (chat_id, message_id), body.get("data"), button=body.get("button")
        )

    async def redeliver(self, body: JSONDict) -> JSONDict:
        return self.api.redeliver(int(body["update_id"]))

    async def fail(self, body: JSONDict) -> bool:
        self.api.fail_next(
            str(body["method"]),
            status=int(body.get("status", 429)),
            retry_after=int(body.get("retry_after", 1)),
            times=int(body.get("times", 1)),
            description=body.get("description"),
        )
        return True

    async def reset(self, body: JSONDict) -> bool:
        self.api.reset()
        return True

    async def wait(self, body: JSONDict) -> JSONDict:
        call = await self.api.wait_for_message(
            as_int(body.get("chat_id")),
            timeout=float(body.get("timeout", 5.0)),
            since=as_int(body.get("since")) or 0,
            method=body.get("method"),
        )
        return {"index": self.api.calls.index(call), **call.to_json()}

    async def calls(self, request: web.Request) -> web.Response:
        since = as_int(request.query.get("since")) or 0
        method = request.query.get("method")
        with_files = request.query.get("files") in ("1", "true")
        calls = [
            call.to_json(with_files=with_files)
            for call in self.api.calls[since:]
            if method is None or call.method.lower() == method.lower()
        ]
        return json_response({"ok": True, "result": calls, "count": len(self.api.calls)})
