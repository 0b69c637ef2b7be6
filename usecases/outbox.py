"""Delivering across messengers: each running messenger is a ``Sender``; the ``Outbox``
sends a person's message to every account they bound in a running messenger.

A sender raises ``Undeliverable`` when a chat cannot be reached (the person blocked the bot,
or never opened a chat with it: retrying will not help) and ``DeliveryFailed`` when sending
failed for now (network, flood limits past the retries: try again later).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from usecases.cards import remember_copies
from usecases.core import UseCases
from usecases.messages import DIRECT, REPLY, Copy, Out, Person, Result, Say

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """The chat cannot be reached; retrying would not help."""


class DeliveryFailed(Exception):
    """Sending failed for now; it may be tried again."""


class Sender(Protocol):
    """One messenger's way of delivering messages (``name``: "tg", "dt", "wecom")."""

    name: str

    async def to_user(self, user_id: str, message: Say) -> Copy | None:
        """A message to a person's private chat; where it went (None: not kept)."""

    async def to_group(self, message: Say) -> None:
        """A message to this messenger's bureau group."""

    async def replace(self, copy: Copy, message: Say, *, caption: bool) -> None:
        """A copy sent earlier shows ``message`` instead (its actions removed)."""

    @property
    def has_group(self) -> bool:
        """Whether a bureau group is configured for this messenger."""


class Outbox:
    """Every running messenger's sender, by name."""

    def __init__(self, senders: Iterable[Sender] = ()) -> None:
        self.senders: dict[str, Sender] = {s.name: s for s in senders}

    def add(self, sender: Sender) -> None:
        """A messenger that has started."""
        self.senders[sender.name] = sender

    def reachable(self, person: Person) -> list[tuple[Sender, str]]:
        """(sender, user id) for each of the person's accounts in a running messenger."""
        return [(self.senders[m], uid) for m, uid in person.addresses if m in self.senders]

    async def to_person(self, person: Person, message: Say) -> list[Copy]:
        """Send to every account the person bound; failures are logged. Reaching one account
        is enough; where none was reached and one failed only for now (the network, a
        messenger's outage), ``DeliveryFailed`` is raised: the person is not surely told."""
        targets = self.reachable(person)
        if not targets:
            log.info("person %s has no account in a running messenger; not sent", person.person_id)
        copies: list[Copy] = []
        reached, passing = False, False
        for sender, user_id in targets:
            try:
                copy = await sender.to_user(user_id, message)
            except Exception as exc:  # one closed chat must not stop the others
                log.warning("%s message to person %s not delivered: %s", sender.name,
                            person.person_id, exc)  # fmt: skip
                passing = passing or not isinstance(exc, Undeliverable)
                continue
            reached = True
            if copy is not None:
                copies.append(copy)
        if passing and not reached:
            raise DeliveryFailed(f"person {person.person_id}: not reached for now")
        return copies

    async def replace(self, copies: Iterable[Copy], message: Say, *, caption: bool) -> None:
        """Show a decision on every copy of a card, whatever messenger it is in."""
        for copy in dict.fromkeys(copies):
            sender = self.senders.get(copy[0])
            if sender is None:
                continue
            try:
                await sender.replace(copy, message, caption=caption)
            except Exception as exc:
                log.warning("could not update card copy %s: %s", copy, exc)


async def deliver_result(
    result: Result,
    deliver: Callable[[Out], Awaitable[list[Copy] | None]],
    usecases: UseCases,
) -> Say | None:
    """Deliver every message of a result in order (``deliver`` gives where each went, None
    when it was not delivered), remember where each card went (one transaction), run the
    result's ``delivered`` work, and return
    the alert to show: the result's, or its fallback when the private message failed."""
    remember: dict[int, list[Copy]] = {}
    direct_failed = unreached = False
    for out in result.out:
        copies = await deliver(out)
        if copies is None:
            direct_failed = direct_failed or out.to == DIRECT
            unreached = unreached or isinstance(out.to, Person)  # failed for now: not surely told
        elif out.card is not None:
            remember.setdefault(out.card, []).extend(copies)
    if remember:
        await asyncio.to_thread(usecases.within, lambda s: remember_copies(s, remember))
    if unreached:
        log.warning("a person was not reached for now; the delivery is not noted as done")
        if result.undelivered is not None:
            await deliver(Out(result.undelivered, REPLY))
    elif result.delivered is not None:  # e.g. the notices of a finding noted as sent
        await asyncio.to_thread(usecases.within, result.delivered)
    if direct_failed and isinstance(result.value, Say):
        return result.value
    return result.alert
