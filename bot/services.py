"""The services object: built once from settings, shared by every messenger and the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, ParamSpec, TypeVar

from sqlalchemy import Engine

from bot.duties import Scheduler
from bot.settings import Settings
from scoring.db import make_engine
from scoring.evidence import EvidenceStore, evidence_folder
from scoring.periods import Period
from scoring.rules import Rules, load_rules
from scoring.service import Service
from templates.views import Views, plain
from usecases import bulletins
from usecases.core import UseCases
from usecases.duties import Planning
from usecases.outbox import Outbox

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Services:
    """Settings, rules, the database, the use cases, the views and the running messengers."""

    settings: Settings
    rules: Rules
    engine: Engine
    core: Service
    views: Views
    usecases: UseCases
    outbox: Outbox
    scheduler: Scheduler
    evidence: EvidenceStore | None = None  # where evidence files are also kept

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Everything from settings (the rules file is read and checked here, once)."""
        rules = load_rules(settings.rules_file)
        engine = make_engine(settings.database_url)
        usecases = UseCases(engine, rules)
        outbox = Outbox()
        planning = Planning(rules, settings.tz, settings.rules_file or "", usecases.standings)
        return cls(
            settings, rules, engine, Service(engine, rules), Views(), usecases, outbox,
            Scheduler(usecases, outbox, planning),
            EvidenceStore(evidence_folder(settings.database_url, settings.evidence_dir)),
        )  # fmt: skip

    def now(self) -> datetime:
        """The current time in the bureau's zone (the one clock read, at the edge)."""
        return self.settings.now()

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Database work off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def run_duty(self, key: str) -> bool:
        """Run one calendar duty now if it is due (``annual:2026`` after /finalize)."""
        await self.scheduler.run_due(self.now(), only=key)
        return await self.scheduler.is_done(key)

    def render_bulletin(self, period: Period) -> bulletins.RenderedBulletin:
        """A half-year bulletin as it would be posted (text, chart, Excel); nothing is sent."""
        with self.core.session() as s:
            return bulletins.render_bulletin(
                s, self.rules, period, font=bulletins.find_cjk_font(), tz=self.settings.tz,
                standings_of=self.usecases.standings,
            )  # fmt: skip

    async def bulletin_files(self, out_dir: Path, period: Period | str = "2026H1") -> BulletinFiles:
        """Render a half-year bulletin into out_dir as it would be posted; nothing is sent."""
        p = period if isinstance(period, Period) else Period.parse(period)
        rendered = await self.run(self.render_bulletin, p)
        png, xlsx = rendered.write(out_dir)
        return BulletinFiles(plain(self.views.say(rendered.text)), png, xlsx)

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()


class BulletinFiles(NamedTuple):
    """What the demo shows: the readable text, the chart's path (None: no CJK font), the Excel."""

    text: str
    png: Path | None
    xlsx: Path
