"""The Jinja environment: every sentence a user reads lives in templates/ (zh-CN)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import templates
from scoring.points import fmt

TEMPLATE_DIR = Path(templates.__file__).parent


def _pts(value: Decimal | int | None) -> str:
    return "—" if value is None else fmt(Decimal(value))


def _day(value: date | datetime | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.month}月{value.day}日"


class Views:
    """Renders templates named after their screen (finding_confirm.html.j2)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["pts"] = _pts
        self.env.filters["day"] = _day

    def render(self, template: str, /, **context: object) -> str:
        """The text of a screen, stripped of surrounding blank lines."""
        return self.env.get_template(template).render(**context).strip()
