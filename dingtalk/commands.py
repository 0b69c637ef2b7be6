"""钉钉's action commands, spelled here only: what a tapped action link sends back to the
robot, and what a person may type instead ("确认 72").

Robot messages in DingTalk carry no callback buttons (without console-made card templates),
so an action is a markdown link ``dtmd://dingtalkclient/sendMessage?content=…`` that makes
the person's client send the command's text to the robot.
"""

from __future__ import annotations

from urllib.parse import quote

from usecases import appeals, calendar, claims, findings
from usecases.messages import Action

WORD: dict[str, str] = {
    findings.CONFIRM: "确认",
    findings.CANCEL: "取消",
    findings.UNDO: "撤回",
    findings.PICK: "选择",
    appeals.APPEAL: "申诉",
    appeals.UPHOLD: "维持",
    appeals.REVOKE: "撤销",
    calendar.NOTICE_APPEAL: "公示申诉",
    calendar.PROPOSAL_OK: "确认扣分",
    calendar.PROPOSAL_NO: "驳回建议",
    claims.PICK_KIND: "类别",
    claims.PICK_LEVEL: "级别",
    claims.TODAY: "今天",
    claims.APPROVE: "批准",
    claims.REJECT: "驳回",
}
VERB = {word: verb for verb, word in WORD.items()}
SEND = "dtmd://dingtalkclient/sendMessage?content="


def command(action: Action) -> str:
    """The text an action sends: its word and arguments ("确认 72")."""
    return " ".join([WORD[action.verb], *action.args])


def link(action: Action) -> str:
    """The action as a markdown link that sends its command when tapped."""
    return f"[{action.label}]({SEND}{quote(command(action), safe='')})"


def parse(text: str) -> tuple[str, list[str]] | None:
    """(verb, arguments) when the text is an action's command, else None."""
    words = text.split()
    if not words or words[0] not in VERB:
        return None
    verb, args = VERB[words[0]], words[1:]
    numeric = verb not in (claims.PICK_KIND, claims.PICK_LEVEL, calendar.NOTICE_APPEAL)
    if numeric and not all(a.lstrip("#").isdecimal() for a in args):
        return None
    if verb != claims.TODAY and not args:
        return None
    return verb, [a.lstrip("#") for a in args]
