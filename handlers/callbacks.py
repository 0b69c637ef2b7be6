"""Telegram's callback data for every action, spelled here only.

Buttons already sitting in people's chats keep working, so the data stays as it always was
(``fc:<card>``, ``ap:<entry>``, ``apn:2026Q3`` …). Data is at most 64 bytes.
"""

from __future__ import annotations

from usecases import appeals, attendance, calendar, claims, findings, leaders, people, review
from usecases.messages import Action

PREFIX: dict[str, str] = {
    findings.CONFIRM: "fc",
    findings.CANCEL: "fx",
    findings.UNDO: "fu",
    findings.PICK: "fs",
    appeals.APPEAL: "ap",
    appeals.UPHOLD: "ad:u",
    appeals.REVOKE: "ad:r",
    calendar.NOTICE_APPEAL: "apn",
    calendar.PROPOSAL_OK: "prop:ok",
    calendar.PROPOSAL_NO: "prop:no",
    attendance.ATTENDANCE_OK: "att:ok",
    attendance.ATTENDANCE_NO: "att:no",
    claims.PICK_KIND: "ck",
    claims.PICK_LEVEL: "cv",
    claims.TODAY: "cd:today",
    claims.APPROVE: "cl:a",
    claims.REJECT: "cl:r",
    review.BALLOT_PAGE: "vb",
    review.BALLOT_RATE: "vr",
    review.BALLOT_WHO: "vw",
    review.BALLOT_SUMMARY: "vs",
    review.BALLOT_SUBMIT: "vk",
    review.VOTE_COUNT: "vc",
    review.SCORES_SEND: "sc:ok",
    review.SCORES_DROP: "sc:no",
    people.SCORE_ALL: "sa",
    people.SCORE_PAGE: "sp",
    leaders.DEPT_PAGE: "dp",
    leaders.STANDINGS_PAGE: "stp",
}


def data(action: Action) -> str:
    """An action's callback data: its prefix and arguments, ':'-separated."""
    return ":".join([PREFIX[action.verb], *action.args])


def pattern(verb: str, args: str = r":\d+") -> str:
    """The regular expression a handler matches an action's data with."""
    return rf"^{PREFIX[verb]}{args}$"


def args_of(raw: str | None, verb: str) -> list[str]:
    """The arguments after an action's prefix ([] when the data is not that action's)."""
    prefix = PREFIX[verb]
    if not raw or not raw.startswith(prefix):
        return []
    return [a for a in raw[len(prefix) :].split(":") if a]
