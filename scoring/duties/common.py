"""What the duties share: stored times in the bot's zone, and who is bound to the bot."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlmodel import Session, col, select

from scoring.accounts import Account, account_of_person
from scoring.models import Person

DUTY_SOURCE = "duty"  # the source of entries the duties record (year-end proposals)


def aware(value: datetime, tz: tzinfo) -> datetime:
    """A stored time in the bot's zone (a naive one, from some databases, read as local)."""
    return value.astimezone(tz) if value.tzinfo is not None else value.replace(tzinfo=tz)


def calendar_tz(now: datetime) -> tzinfo:
    """The zone of an aware time (a naive one is refused: the core needs zoned times)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.tzinfo


def bound_accounts(session: Session, *roles: str) -> list[Account]:
    """Bound, active people (holding any of the roles, if some are given), in roster order."""
    ids = session.exec(
        select(Person.id)
        .where(col(Person.telegram_user_id).is_not(None), col(Person.active).is_(True))
        .order_by(col(Person.id))
    ).all()
    accounts = [account_of_person(session, pid) for pid in ids if pid is not None]
    return [a for a in accounts if a is not None and (not roles or a.has(*roles))]
