"""Waiting for a fake server's state to change, without polling and without fixed sleeps."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Changes:
    """Wakes every waiter whenever the owner calls :meth:`fire` (state changed)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Something changed: wake everyone waiting."""
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:
        """The first non-None, non-False value of ``probe()``; TimeoutError naming ``what``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._event
            value = probe()
            if value is not None and value is not False:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
