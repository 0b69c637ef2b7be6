"""A use case's message as 钉钉 markdown: the screen's template (the same one Telegram
renders, so the wording is the same) turned from its HTML into markdown, and its actions as
links that send their command."""

from __future__ import annotations

from dingtalk.commands import link
from templates.views import Views, markdown_of, plain
from usecases.messages import Say

TITLE_LIMIT = 20  # characters of the notification title
TEXT_LIMIT = 4000  # characters of one markdown message (DingTalk takes about 5,000)


def plain_title(html_text: str) -> str:
    """The notification title: the message's first line, short."""
    first = plain(html_text).strip().split("\n", 1)[0]
    return first[:TITLE_LIMIT] or "考核助手"


def render(views: Views, message: Say) -> tuple[str, list[str]]:
    """(title, markdown messages): long text split on lines; the actions with the last."""
    source = views.say(message)
    body = markdown_of(source)
    actions = "  \n".join(" · ".join(link(a) for a in row) for row in message.actions)
    parts = split(body)
    if actions:
        parts[-1] = f"{parts[-1]}\n\n{actions}" if parts[-1] else actions
    return plain_title(source), parts


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks into messages under the limit (a longer line is cut)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    parts.append(current)
    return [p for p in parts if p.strip()] or [""]
