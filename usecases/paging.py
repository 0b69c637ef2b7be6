"""Long lists in pages that always fit one message: a page's place and its actions.

A list's first page is a new message; its actions (首页, 上一页, 下一页, 末页) turn the
pages of that same message. A page holds ``PAGE_LINES`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from usecases.messages import Action

PAGE_LINES = 30


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``pages``: items ``start`` to ``stop`` of ``total``."""

    number: int
    pages: int
    total: int
    start: int
    stop: int


def page_of(total: int, number: int, size: int = PAGE_LINES) -> Page:
    """The page asked for, within the list (a page past the end is its last)."""
    pages = max((total + size - 1) // size, 1)
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return Page(number, pages, total, start, min(start + size, total))


def page_actions(verb: str, args: tuple[str, ...], page: Page) -> list[list[Action]]:
    """A row of actions to the first, previous, next and last pages (those that are another
    page); no row for a list of one page."""
    n, last = page.number, page.pages
    targets = [
        ("« 首页", 1, n > 2),
        ("‹ 上一页", n - 1, n > 1),
        ("下一页 ›", n + 1, n < last),
        ("末页 »", last, n < last - 1),
    ]
    row = [Action(label, verb, (*args, str(to))) for label, to, shown in targets if shown]
    return [row] if row else []
