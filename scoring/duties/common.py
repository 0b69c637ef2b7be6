"""What the duties share: stored times in the bot's zone, and who is bound to the bot."""

from __future__ import annotations

from datetime import datetime, tzinfo

DUTY_SOURCE = "duty"  # the source of entries the duties record (year-end proposals)
ATTENDANCE_SOURCE = "attendance"  # entries confirmed from an attendance export


def aware(value: datetime, tz: tzinfo) -> datetime:
    """A stored time in the bot's zone (a naive one, from some databases, read as local)."""
    return value.astimezone(tz) if value.tzinfo is not None else value.replace(tzinfo=tz)


def calendar_tz(now: datetime) -> tzinfo:
    """The zone of an aware time (a naive one is refused: the core needs zoned times)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.tzinfo
