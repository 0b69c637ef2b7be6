"""The handlers. ``register`` is the only place handlers are added to the application."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    appeals,
    attendance,
    calendar,
    claims,
    findings,
    leaders,
    review,
    score,
    start,
    study,
)


def register(app: Application) -> None:
    """Add every handler. Order matters: within group 0 the first match wins.

    Commands and buttons come first; the inspector's free-text finding handler is the last
    catch-all for private text, so it never swallows a command or a conversation's answer.
    """
    modules = [
        start,
        score,
        study,
        leaders,
        claims,
        appeals,
        calendar,
        review,
        attendance,
        findings,
    ]
    for module in modules:
        for handler in module.build():
            app.add_handler(handler, group=0)
