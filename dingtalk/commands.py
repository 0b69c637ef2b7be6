"""钉钉's action commands, spelled here only: what a tapped action link sends back to the
robot, and what a person may type instead ("确认 72").

Robot messages in DingTalk carry no callback buttons (without console-made card templates),
so an action is a markdown link ``dtmd://dingtalkclient/sendMessage?content=…`` that makes
the person's client send the command's text to the robot.
"""

from __future__ import annotations

from urllib.parse import quote

from usecases import appeals, attendance, calendar, claims, findings, leaders, people, review
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
    attendance.ATTENDANCE_OK: "确认考勤",
    attendance.ATTENDANCE_NO: "驳回考勤",
    claims.PICK_KIND: "类别",
    claims.PICK_LEVEL: "级别",
    claims.TODAY: "今天",
    claims.APPROVE: "批准",
    claims.REJECT: "驳回",
    review.BALLOT_PAGE: "选票翻页",
    review.BALLOT_RATE: "评议",
    review.BALLOT_WHO: "查看",
    review.BALLOT_SUMMARY: "选票汇总",
    review.BALLOT_SUBMIT: "提交选票",
    review.VOTE_COUNT: "按已投计分",
    review.SCORES_SEND: "确认提交评分",
    review.SCORES_DROP: "放弃评分",
    people.SCORE_ALL: "全部明细",
    people.SCORE_PAGE: "明细翻页",
    leaders.DEPT_PAGE: "科室排名翻页",
    leaders.STANDINGS_PAGE: "排名翻页",
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
    textual = (claims.PICK_KIND, claims.PICK_LEVEL, calendar.NOTICE_APPEAL,
               leaders.DEPT_PAGE, leaders.STANDINGS_PAGE)  # fmt: skip
    if verb in (review.SCORES_SEND, review.SCORES_DROP):  # (leader|group, year)
        if len(args) != 2 or args[0] not in review.KINDS or not args[1].isdecimal():
            return None
    elif verb not in textual and not all(a.lstrip("#").isdecimal() for a in args):
        return None
    if verb != claims.TODAY and not args:
        return None
    return verb, [a.lstrip("#") for a in args]
