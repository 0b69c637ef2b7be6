"""Running a verb: one transaction that admits the event, finds the person, checks the
permission, and does the work.

The event's key ("tg:<update_id>", "dt:<msgId>") is stored in the very transaction of what
the verb records, so a redelivered event records nothing twice, and a crash before the
commit leaves it to be processed again, exactly once. A domain error (``KaoheError``) rolls
the whole transaction back and reaches the adapter, which shows its message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from scoring.accounts import Account, account_for, addresses_of
from scoring.db import transaction
from scoring.pending import mark_event
from scoring.periods import Period
from scoring.rules import Rules
from scoring.standings import Standing, StandingsCache, StandingsOf, compute_standings
from usecases.messages import Person, Result, Say, say
from usecases.permissions import PERMISSIONS

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Event:
    """An incoming message or button press, as every messenger has one.

    ``key`` identifies the event across redeliveries; ``private`` is False in a group chat.
    """

    messenger: str
    user_id: str
    key: str
    now: datetime
    private: bool = True


@dataclass(frozen=True)
class Ctx:
    """What a verb works with: its transaction, the rules, the event and who sent it."""

    session: Session
    rules: Rules
    event: Event
    account: Account | None
    standings_of: StandingsOf = compute_standings

    def standings(self, period: Period) -> list[Standing]:
        """Everyone's standing in the period (from memory while the ledger is unchanged);
        the rows are shared: read them, never change them."""
        return self.standings_of(self.session, self.rules, period)

    @property
    def now(self) -> datetime:
        """The event's time (read once at the edge)."""
        return self.event.now

    @property
    def me(self) -> Account:
        """The sender's account (verbs whose permission needs one are only run with one)."""
        assert self.account is not None
        return self.account

    def attempt(self) -> SessionTransaction:
        """A savepoint: a domain error caught after it leaves nothing of what it began."""
        return self.session.begin_nested()

    def people(self, person_ids: list[int]) -> dict[int, Person]:
        """Recipients for roster people, with every messenger account they bound."""
        found = addresses_of(self.session, person_ids)
        return {pid: Person(pid, found.get(pid, ())) for pid in person_ids}

    def person(self, person_id: int) -> Person:
        """A recipient for one roster person."""
        return self.people([person_id])[person_id]


Verb = Callable[Concatenate[Ctx, P], Result]
_PERMISSION: dict[Callable[..., Result], str] = {}


def verb(permission: str) -> Callable[[Verb[P]], Verb[P]]:
    """Declare a verb and the permission (see ``PERMISSIONS``) that admits its sender."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def register(fn: Verb[P]) -> Verb[P]:
        _PERMISSION[fn] = permission
        return fn

    return register


def permission_of(fn: Callable[..., Result]) -> str:
    """The permission a verb was declared with."""
    return _PERMISSION[fn]


def _admit(
    session: Session, event: Event, fn: Callable[..., Result]
) -> tuple[Account | None, Say | None]:
    """The event's sender and, if the verb's permission does not admit them, the refusal."""
    allowed = PERMISSIONS[_PERMISSION[fn]]
    account = account_for(session, event.messenger, event.user_id)
    if allowed is not None and (account is None or not account.has(*allowed)):
        template = "unbound.html.j2" if account is None else "not_allowed.html.j2"
        return account, say(template, account=account)
    return account, None


class UseCases:
    """The verbs' runner over one database and one rules file."""

    def __init__(self, engine: Engine, rules: Rules) -> None:
        self.engine = engine
        self.rules = rules
        # standings computed once per version of the ledger, for every verb and duty
        self.standings = StandingsCache()

    def session(self) -> Session:
        """A plain session for reads outside any event (the scheduler's, the CLI's)."""
        return Session(self.engine, expire_on_commit=False)

    def call(self, event: Event, fn: Verb[P], *args: P.args, **kwargs: P.kwargs) -> Result:
        """Run a verb for an event, in one transaction; a seen event does nothing."""
        with transaction(self.engine) as s:
            if not mark_event(s, event.key, now=event.now):
                return Result(duplicate=True)
            account, refusal = _admit(s, event, fn)
            if refusal is not None:
                return Result(refusal=refusal)
            return fn(Ctx(s, self.rules, event, account, self.standings), *args, **kwargs)

    def refusal(self, event: Event, fn: Callable[..., Result]) -> Say | None:
        """What the verb would refuse this event's sender with (None: admitted), read without
        writing anything: an adapter asks before costly work, such as downloading a file."""
        with self.session() as s:
            return _admit(s, event, fn)[1]

    async def run(self, event: Event, fn: Verb[P], *args: P.args, **kwargs: P.kwargs) -> Result:
        """``call`` off the event loop (the database work runs in a thread)."""
        return await asyncio.to_thread(lambda: self.call(event, fn, *args, **kwargs))

    def within(self, fn: Callable[[Session], R]) -> R:
        """Work outside any event (the scheduler, remembering card copies) in a transaction."""
        with transaction(self.engine) as s:
            return fn(s)
