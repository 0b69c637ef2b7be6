"""The services object: built once, kept in application.bot_data, used by every handler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine

from bot.settings import Settings
from bot.views import Views
from scoring.db import make_engine
from scoring.rules import Rules, load_rules
from scoring.service import Service

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Services:
    """Settings, rules, the database and the views, shared by handlers and duties."""

    settings: Settings
    rules: Rules
    engine: Engine
    core: Service
    views: Views

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Everything from settings (the rules file is read and checked here, once)."""
        rules = load_rules(settings.rules_file)
        engine = make_engine(settings.database_url)
        return cls(settings, rules, engine, Service(engine, rules), Views())

    def now(self) -> datetime:
        """The current time in the bureau's zone (the one clock read, at the edge)."""
        return self.settings.now()

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Database work off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()
