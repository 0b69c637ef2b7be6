"""A clock the tests move by hand: ``clock()`` reads it, ``await clock.sleep(s)`` advances it."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Monotonic seconds that pass only when someone sleeps on this clock (or ``advance``s it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """What ``asyncio.sleep`` would wait, passed at once (recorded in ``slept``)."""
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
