"""The Jinja environment: every sentence a user reads lives in templates/ (zh-CN)."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import templates
from scoring.points import fmt
from usecases.messages import Say

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
            auto_reload=False,  # each template is compiled once, never checked on disk again
        )
        self.env.filters["pts"] = _pts
        self.env.filters["day"] = _day

    def render(self, template: str, /, **context: object) -> str:
        """The text of a screen, stripped of surrounding blank lines."""
        return self.env.get_template(template).render(**context).strip()

    def say(self, message: Say) -> str:
        """A use case's message as text; a value that is itself a ``Say`` is rendered first
        (a screen made of two screens, such as a proposal card and its outcome)."""
        values = {k: self._value(v) for k, v in message.values.items()}
        return self.render(message.template, **values)

    def _value(self, value: Any) -> Any:
        if isinstance(value, Say):
            return Markup(self.say(value))
        if isinstance(value, list) and value and isinstance(value[0], Say):
            return [Markup(self.say(v)) for v in value]
        return value


_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """An HTML message as a terminal shows it: tags dropped, entities read."""
    return html.unescape(_TAG.sub("", text))


_BOLD = re.compile(r"</?(?:b|strong)>")
_ITALIC = re.compile(r"</?(?:i|em)>")
_CODE = re.compile(r"</?(?:code|pre)>")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


def markdown_of(html_text: str) -> str:
    """Our templates' HTML (b, i, code, a) as markdown; every line kept a line."""
    text = _LINK.sub(lambda m: f"[{m.group(2)}]({html.unescape(m.group(1))})", html_text)
    text = _CODE.sub("`", _ITALIC.sub("*", _BOLD.sub("**", text)))
    text = html.unescape(_TAG.sub("", text))
    return "\n".join(line.rstrip() + "  " if line.strip() else "" for line in text.split("\n"))
