"""Wiring: build the PTB Application from settings, with services, handlers and duties."""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.duties import schedule_duties
from bot.services import Services
from bot.settings import Settings
from handlers import register
from handlers.common import Deps
from handlers.sending import TelegramSender

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception with the update first; then a short apology, never a traceback."""
    err = context.error
    if update is None and isinstance(err, NetworkError):  # polling while the network is down
        log.warning("cannot reach Telegram (%s); PTB retries", type(err).__name__)
        return
    tb = "".join(traceback.format_exception(err)) if err else ""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s: %s\n%s", update_id, err, tb)
    if not isinstance(update, Update):
        return
    svc: Services | None = context.bot_data.get("services")
    text = svc.views.render("error_apology.html.j2") if svc else "抱歉,处理时出了点问题。"
    try:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(text, show_alert=True)
                return
            except BadRequest:  # the press was already answered: say it in the chat
                pass
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, html.escape(text))
    except Exception:  # the apology itself failed: already logged above
        log.warning("could not send the apology for update %s", update_id)


def build_application(
    settings: Settings,
    services: Services | None = None,
    *,
    rate_limit: bool | None = None,
    request: BaseRequest | None = None,
) -> Application:
    """The bot: services in bot_data, every handler registered, the error handler last.

    Services built here are closed when the application shuts down; services handed in
    belong to the caller. ``request`` replaces PTB's HTTP client for every Bot API call
    (the tests answer them in process); by default PTB's own is used.
    """
    svc = services or Services.build(settings)
    others = None
    if settings.dingtalk_configured or settings.wecom_webhook_url is not None:
        from bot.messengers import Others  # their SDKs only where they are configured

        others = Others(svc, settings)  # 钉钉 and 企业微信 beside Telegram

    async def post_init(app: Application) -> None:
        if others is not None:
            await others.start()

    async def post_shutdown(app: Application) -> None:
        if others is not None:
            await others.stop()
        svc.outbox.senders.pop(TelegramSender.name, None)
        if services is None:
            svc.close()

    builder = (
        ApplicationBuilder()
        .token(settings.bot_token)
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if settings.rate_limit if rate_limit is None else rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    app = builder.build()
    sender = TelegramSender(app.bot, svc.views, settings.group_chat_id)
    svc.outbox.add(sender)
    app.bot_data["services"] = svc
    app.bot_data["scheduler"] = svc.scheduler
    clock = lambda: svc.now()  # noqa: E731  (read at each event: tests stop the clock)
    app.bot_data["clock"] = clock
    app.bot_data["tg"] = Deps(
        svc.usecases, svc.views, svc.outbox, sender, clock, svc.run_duty, svc.evidence
    )
    register(app)
    schedule_duties(app, svc.now())
    app.add_error_handler(on_error)
    return app
