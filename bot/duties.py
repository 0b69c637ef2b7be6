"""The calendar's duties on PTB's JobQueue, delivered to every running messenger.

One repeating job (``duties``) ticks every minute, the first time at start-up. Each tick
reads the clock once and runs every duty due and not done (see ``scoring.calendar`` for
what falls when, and for the catch-up rule). A duty's plan (``usecases.duties``) is a list
of parts; each part goes to every target (each bound account of a person; each configured
group: Telegram's, 钉钉's, 企业微信's), and each delivery is noted, so a retry sends only
what is missing. The duty's key is recorded only when every delivery went out. A failed
send leaves the duty undone: the next tick tries again. A private chat that cannot be
reached (the person blocked the bot, or never opened a chat with it) is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session
from telegram.ext import Application, ContextTypes

from scoring import duties
from scoring.calendar import Duty
from usecases.core import UseCases
from usecases.duties import PLANS, Part, Plan, Planning
from usecases.messages import Group
from usecases.outbox import Outbox, Sender, Undeliverable

log = logging.getLogger(__name__)
JOB_NAME = "duties"
TICK_SECONDS = 60
TELEGRAM = "tg"  # Telegram's deliveries keep the part's own name
NO_GROUP = (
    "no group chat is configured "
    "(KAOHE_GROUP_CHAT_ID, KAOHE_DINGTALK_GROUP_ID or KAOHE_WECOM_WEBHOOK_URL)"
)


@dataclass(frozen=True)
class Delivery:
    """One part to one target: its name in the run book, the sender, the user (None: group)."""

    name: str
    sender: Sender
    user_id: str | None
    part: Part


def deliveries(plan: Plan, outbox: Outbox) -> list[Delivery]:
    """Every (part, target) of a plan among the running messengers."""
    out: list[Delivery] = []
    for part in plan.parts:
        targets: list[tuple[Sender, str | None]]
        if isinstance(part.to, Group):
            targets = [(s, None) for s in outbox.senders.values() if s.has_group]
        else:
            targets = [(s, uid) for s, uid in outbox.reachable(part.to)]
        for sender, user_id in targets:
            name = part.name if sender.name == TELEGRAM else f"{sender.name}:{part.name}"
            out.append(Delivery(name, sender, user_id, part))
    return out


class Scheduler:
    """Runs the duties due; one run at a time (a tick waits for the one before)."""

    def __init__(self, usecases: UseCases, outbox: Outbox, planning: Planning) -> None:
        self.usecases = usecases
        self.outbox = outbox
        self.planning = planning
        self.lock = asyncio.Lock()
        self.warned: set[str] = set()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"  # who claims a run

    async def run_due(self, now: datetime, *, only: str | None = None) -> list[str]:
        """Run every duty due at ``now`` and not done (or just the one keyed ``only``)."""
        done: list[str] = []
        async with self.lock:
            due = await asyncio.to_thread(self.usecases.within, lambda s: self._due(s, now))
            for duty in due:
                if only is not None and duty.key != only:
                    continue
                try:
                    if await self.run_duty(duty, now):
                        done.append(duty.key)
                except Exception:  # one broken duty must not stop the others
                    log.exception("duty %s failed; retried next tick", duty.key)
        return done

    def _due(self, session: Session, now: datetime) -> list[Duty]:
        return duties.duties_due(session, self.planning.rules.calendar, self.planning.tz, now)

    async def run_duty(self, duty: Duty, now: datetime) -> bool:
        """Run one duty unless another process is running it (see ``duties.claim_run``)."""
        key = duty.key

        def claim(s: Session) -> bool:
            return duties.claim_run(s, key, now=now, owner=self.owner)

        if not await asyncio.to_thread(self.usecases.within, claim):
            log.info("duty %s is being run by another process", key)
            return False
        try:
            if await self.is_done(key):  # done by another process since this tick began
                return False
            return await self._run(duty, now)
        finally:
            await asyncio.to_thread(self.usecases.within, lambda s: duties.release_run(s, key))

    async def _run(self, duty: Duty, now: datetime) -> bool:
        """Run one duty: deliver what is missing, then record its key. False: still undone."""

        def plan(s: Session) -> Plan:
            return PLANS[duty.kind](self.planning, s, duty, now)

        planned = await asyncio.to_thread(self.usecases.within, plan)
        todo = deliveries(planned, self.outbox)
        needs_group = any(isinstance(p.to, Group) for p in planned.parts)
        if needs_group and not any(s.has_group for s in self.outbox.senders.values()):
            planned = Plan(ready=False, reason=NO_GROUP)
        if not planned.ready:
            if duty.key not in self.warned:
                self.warned.add(duty.key)
                log.warning("duty %s cannot run yet: %s", duty.key, planned.reason)
            return False
        if not await self._send(duty.key, todo, now):
            return False

        def finish(s: Session) -> None:
            detail = planned.finish(s) if planned.finish else planned.detail
            duties.mark_done(s, duty.key, now=now, detail=detail)

        await asyncio.to_thread(self.usecases.within, finish)
        log.info("duty %s done: %s", duty.key, planned.detail or "")
        return True

    async def _send(self, key: str, todo: list[Delivery], now: datetime) -> bool:
        """Deliver what was not delivered yet, noting each; False at the first failure."""
        sent = await asyncio.to_thread(self.usecases.within, lambda s: duties.parts_done(s, key))
        for d in todo:
            if d.name in sent:
                continue
            try:
                if d.user_id is None:
                    await d.sender.to_group(d.part.say)
                else:
                    await d.sender.to_user(d.user_id, d.part.say)
            except Undeliverable as exc:
                if d.user_id is None:
                    log.warning("duty %s: %s group unreachable (%s); retried next tick", key,
                                d.sender.name, exc)  # fmt: skip
                    return False
                log.warning("duty %s: %s chat unreachable (%s); skipped", key, d.sender.name, exc)
            except Exception as exc:
                log.warning("duty %s: part %s failed (%s); retried next tick", key, d.name, exc)
                return False
            await asyncio.to_thread(
                self.usecases.within, lambda s, n=d.name: duties.add_part(s, key, n, now=now)
            )
        return True

    async def is_done(self, key: str) -> bool:
        """Whether a duty's key is recorded."""
        return await asyncio.to_thread(self.usecases.within, lambda s: duties.is_done(s, key))


async def run_due_duties(app: Application, now: datetime, *, only: str | None = None) -> list[str]:
    """Run every duty due at ``now`` and not done (or just ``only``); the keys done."""
    scheduler: Scheduler = app.bot_data["scheduler"]
    return await scheduler.run_due(now, only=only)


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job: read the clock once, run what is due."""
    scheduler: Scheduler = context.bot_data["scheduler"]
    await scheduler.run_due(context.bot_data["clock"]())


def schedule_duties(app: Application, now: datetime) -> None:
    """Tick every minute, the first time as soon as the application starts (catch-up).

    The first run is pinned with ``next_run_time``: a plain ``first=0`` would be counted
    from now, when the application is built, and APScheduler would then wait a whole
    interval once it starts. No misfire limit: a late tick still runs, coalesced into one.
    """
    if app.job_queue is None:
        log.warning("no JobQueue (install python-telegram-bot[job-queue]); duties will not run")
        return
    app.job_queue.run_repeating(
        tick, interval=TICK_SECONDS, first=TICK_SECONDS, name=JOB_NAME,
        job_kwargs={"next_run_time": now, "misfire_grace_time": None, "coalesce": True,
                    "max_instances": 1},
    )  # fmt: skip
