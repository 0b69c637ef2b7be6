"""The 钉钉 adapter: each message someone sends the robot becomes one use-case verb, and its
result goes out as markdown with action links.

In 1:1 chat a person has every flow they have in Telegram; in a group the robot answers only
when @-mentioned (/score is then answered in private). An action is the text a tapped link
sends back ("确认 72", see ``dingtalk.commands``); typing it works too. A multi-step flow
(a claim's questions, a reason asked for) waits for the person's next message, as Telegram's
conversations do, for a limited time.

DingTalk pushes a message again when it was not acknowledged: the event key is its msgId,
so a redelivered message records nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from dingtalk.commands import parse
from dingtalk.openapi import TOO_LARGE, DingTalkError
from dingtalk.sender import DINGTALK, DingTalkSender
from dingtalk.stream import Conversation, Incoming
from scoring.errors import KaoheError
from templates.views import Views
from usecases import appeals, attendance, calendar, claims, findings, leaders, people, review
from usecases.cards import evidence_ref
from usecases.claims import Draft
from usecases.core import Event, UseCases
from usecases.messages import DIRECT, EDIT, REPLY, Copies, Copy, Group, Person, Result, Say, say
from usecases.outbox import DeliveryFailed, Outbox, Undeliverable, deliver_result

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=30)
REASON_TIMEOUT = timedelta(minutes=10)
_MENTION = re.compile(r"^@\S+\s*")
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip file


@dataclass
class Waiting:
    """What a person's next message answers: a claim's step, or a reason for a card."""

    kind: str  # "claim" | "appeal" | "claim_reject"
    step: str
    until: datetime
    draft: Draft = field(default_factory=Draft)
    about: int = 0


def _why(exc: Exception) -> str:
    """Why a file could not be had: too large, refused by DingTalk, or not for now."""
    cause = exc.__cause__
    if isinstance(cause, DingTalkError) and cause.code == TOO_LARGE:
        return "too_large"
    return "refused" if isinstance(exc, Undeliverable) else "unavailable"


@dataclass(frozen=True)
class Message:
    """An incoming message as this adapter reads it."""

    incoming: Incoming
    text: str
    evidence: str

    @property
    def private(self) -> bool:
        return self.incoming.conversation == Conversation.PRIVATE


Verb = Callable[..., Result]
# the ballot's actions: verb → (use case, how many numbers it takes)
BALLOT: dict[str, tuple[Verb, int]] = {
    review.BALLOT_PAGE: (review.turn_page, 2),
    review.BALLOT_RATE: (review.rate, 4),
    review.BALLOT_WHO: (review.who, 2),
    review.BALLOT_SUMMARY: (review.summary, 1),
    review.BALLOT_SUBMIT: (review.submit, 1),
    review.VOTE_COUNT: (review.confirm_count, 1),
}


class DingTalkChat:
    """Runs verbs for DingTalk messages and shows their results."""

    def __init__(
        self,
        usecases: UseCases,
        views: Views,
        outbox: Outbox,
        sender: DingTalkSender,
        clock: Callable[[], datetime],
        run_duty: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.usecases = usecases
        self.views = views
        self.outbox = outbox
        self.sender = sender
        self.clock = clock
        self.run_duty = run_duty
        self.waiting: dict[str, Waiting] = {}

    # ------------------------------------------------------------------ receiving
    async def on_message(self, incoming: Incoming) -> None:
        """One message to the robot (awaited before DingTalk gets its ACK)."""
        if not incoming.sender_id:
            return  # someone outside the organisation: no account can be theirs
        if incoming.conversation == Conversation.GROUP and not incoming.at_robot:
            return
        text = _MENTION.sub("", incoming.text.strip()).strip()
        evidence = evidence_ref(DINGTALK, incoming.picture or "")
        await self.dispatch(Message(incoming, text, evidence))

    async def dispatch(self, m: Message) -> None:
        """The verb this message asks for, run, and its result shown."""
        now = self.clock()
        user = m.incoming.sender_id
        waiting = self.waiting.get(user)
        if waiting is not None and waiting.until < now:
            del self.waiting[user]
            waiting = None
        if m.incoming.file[0]:
            if m.private:
                await self._file(m, waiting)
        elif m.text.startswith("/") or m.text.startswith("绑定"):
            await self._command(m, waiting)
        elif (action := parse(m.text)) is not None:
            await self._action(m, waiting, *action)
        elif waiting is not None:
            await self._answer(m, waiting)
        elif m.private and (m.text or m.evidence):
            await self.run(m, findings.record_finding, m.text, m.evidence)

    async def _file(self, m: Message, waiting: Waiting | None) -> None:
        """A file sent in private. During a claim it is the claim's evidence (or the step
        is asked again); else an attendance export (.xlsx, .csv, or a name DingTalk gave
        without its extension) becomes proposal cards, as in Telegram; another file gets
        the help. Nothing is downloaded for someone the import would refuse."""
        code, name = m.incoming.file
        if waiting is not None:
            if waiting.step == claims.EVIDENCE:
                del self.waiting[m.incoming.sender_id]
                evidence = evidence_ref(DINGTALK, code)
                await self.run(m, claims.give_evidence, waiting.draft, evidence, "document")
            else:
                await self._answer(m, waiting)
            return
        export = attendance.is_export(name)
        suffix = PurePath(name).suffix.lstrip(".")
        refusal = await asyncio.to_thread(
            self.usecases.refusal, self.event(m), attendance.import_file
        )
        if not export and (refusal is not None or suffix.isalpha()):
            await self.run(m, people.help_text)  # a document, a picture as a file …
            return
        if refusal is not None:
            await self._reply(m, refusal)
            return
        try:
            data = await self.sender.fetch(code, limit=attendance.EXPORT_MAX_BYTES)
        except (Undeliverable, DeliveryFailed) as exc:
            log.warning("DingTalk message %s: file not downloaded: %s",
                        m.incoming.message_id, exc)  # fmt: skip
            await self._reply(m, say("file_not_read.html.j2", name=name, why=_why(exc),
                                     limit_mb=attendance.EXPORT_MAX_BYTES // 2**20))  # fmt: skip
            return
        if not export:  # DingTalk may leave the extension out
            if not data.startswith(XLSX_MAGIC):
                await self.run(m, people.help_text)
                return
            name = f"{name}.xlsx"
        await self.run(m, attendance.import_file, data, name)

    async def _command(self, m: Message, waiting: Waiting | None) -> None:
        word, _, rest = m.text.partition(" ")
        name = "start" if word == "绑定" else word.lstrip("/").split("@", 1)[0].lower()
        args = rest.split()
        simple: dict[str, tuple[Verb, tuple[Any, ...]]] = {
            "start": (people.start, ((args or [""])[0],)),
            "help": (people.help_text, ()),
            "score": (people.score, ()),
            "notes": (people.hand_in_notes, (rest.strip(), m.evidence)),
            "reflection": (people.hand_in_reflection, (rest.strip(), m.evidence)),
            "pending": (claims.pending, ()),
            "dept": (leaders.dept, (args,)),
            "standings": (leaders.standings, (args,)),
            "veto": (leaders.veto, (args,)),
            "revoke": (leaders.revoke, (args,)),
            "checked": (findings.record_spot_check, (rest.strip(),)),
            "vote": (review.manage_vote, (args,)),
            "ballot": (review.show_ballot, (args,)),
            "leaderscore": (review.score_sheet, ("leader", args)),
            "groupscore": (review.score_sheet, ("group", args)),
        }
        if name in simple:
            fn, fn_args = simple[name]
            await self.run(m, fn, *fn_args)
        elif name == "claim" and m.private:
            await self._claim_step(
                m, Waiting("claim", claims.KIND, self.clock()), claims.start_claim
            )
        elif name == "cancel":
            await self._cancel(m, waiting)
        elif name == "finalize":
            await self._finalize(m, args)
        else:
            await self.run(m, people.help_text)

    async def _action(
        self, m: Message, waiting: Waiting | None, verb: str, args: list[str]
    ) -> None:
        n = [int(a) for a in args if a.isdecimal()]
        if verb == findings.CONFIRM:
            await self.run(m, findings.confirm_finding, n[0])
        elif verb == findings.CANCEL:
            await self.run(m, findings.cancel_finding, n[0])
        elif verb == findings.UNDO:
            await self.run(m, findings.undo_finding, n[0])
        elif verb == findings.PICK and len(n) == 2:
            await self.run(m, findings.pick_suggestion, n[0], n[1])
        elif verb == appeals.APPEAL:
            await self._ask(m, "appeal", n[0], appeals.ask_reason)
        elif verb in (appeals.UPHOLD, appeals.REVOKE):
            await self.run(m, appeals.decide, n[0], verb == appeals.REVOKE)
        elif verb == calendar.NOTICE_APPEAL:
            await self.run(m, calendar.notice_appeal, args[0])
        elif verb in (calendar.PROPOSAL_OK, calendar.PROPOSAL_NO):
            await self.run(m, calendar.decide_proposal, n[0], verb == calendar.PROPOSAL_OK)
        elif verb in BALLOT and len(n) == BALLOT[verb][1]:
            await self.run(m, BALLOT[verb][0], *n)
        elif verb in (review.SCORES_SEND, review.SCORES_DROP):
            fn = review.send_scores if verb == review.SCORES_SEND else review.drop_scores
            await self.run(m, fn, args[0], int(args[1]))
        elif verb == people.SCORE_ALL and n:
            await self.run(m, people.score_entries, n[0], 1, turn=False)
        elif verb == people.SCORE_PAGE and len(n) == 2:
            await self.run(m, people.score_entries, n[0], n[1])
        elif verb in (leaders.DEPT_PAGE, leaders.STANDINGS_PAGE) and len(args) == 2:
            pager = leaders.dept_page if verb == leaders.DEPT_PAGE else leaders.standings_page
            await self.run(m, pager, args[0], int(args[1]) if args[1].isdecimal() else 1)
        elif verb in (attendance.ATTENDANCE_OK, attendance.ATTENDANCE_NO):
            await self.run(m, attendance.decide, n[0], verb == attendance.ATTENDANCE_OK)
        elif verb == claims.APPROVE:
            await self.run(m, claims.approve, n[0])
        elif verb == claims.REJECT:
            await self._ask(m, "claim_reject", n[0], claims.ask_reject_reason)
        elif waiting is not None and waiting.kind == "claim":
            step = {claims.PICK_KIND: claims.pick_kind, claims.PICK_LEVEL: claims.pick_level}
            if verb in step:
                await self._claim_step(m, waiting, step[verb], waiting.draft, args[0])
            else:  # 今天
                await self._claim_step(m, waiting, claims.give_date, waiting.draft, None)
        else:
            await self.run(m, people.help_text)

    async def _answer(self, m: Message, waiting: Waiting) -> None:
        """The next message while a question is open."""
        if waiting.kind == "appeal":
            await self._reason(m, waiting, appeals.open_appeal)
        elif waiting.kind == "claim_reject":
            await self._reason(m, waiting, claims.reject)
        elif waiting.step == claims.TITLE and m.text:
            await self._claim_step(m, waiting, claims.give_title, waiting.draft, m.text)
        elif waiting.step == claims.DATE and m.text:
            await self._claim_step(m, waiting, claims.give_date, waiting.draft, m.text)
        elif waiting.step == claims.EVIDENCE and m.evidence:
            del self.waiting[m.incoming.sender_id]
            await self.run(m, claims.give_evidence, waiting.draft, m.evidence, "photo")
        else:
            await self.run(m, claims.stray, waiting.draft)

    # ------------------------------------------------------------------ conversations
    async def _claim_step(self, m: Message, waiting: Waiting, fn: Verb, *args: Any) -> None:
        result = await self.run(m, fn, *args)
        user = m.incoming.sender_id
        if result is None or result.state is None:
            self.waiting.pop(user, None)
            return
        draft = result.value if isinstance(result.value, Draft) else waiting.draft
        until = self.clock() + CLAIM_TIMEOUT
        self.waiting[user] = Waiting("claim", result.state, until, draft)

    async def _ask(self, m: Message, kind: str, about: int, fn: Verb) -> None:
        result = await self.run(m, fn, about)
        if result is not None and result.state is not None:
            until = self.clock() + REASON_TIMEOUT
            self.waiting[m.incoming.sender_id] = Waiting(kind, result.state, until, about=about)

    async def _reason(self, m: Message, waiting: Waiting, fn: Verb) -> None:
        result = await self.run(m, fn, waiting.about, m.text)
        if result is None or result.state is None:
            self.waiting.pop(m.incoming.sender_id, None)

    async def _cancel(self, m: Message, waiting: Waiting | None) -> None:
        self.waiting.pop(m.incoming.sender_id, None)
        cancel = {
            "claim": claims.cancel_claim,
            "appeal": appeals.cancel_appeal,
            "claim_reject": claims.cancel_reject,
        }
        await self.run(m, cancel[waiting.kind] if waiting else people.help_text)

    async def _finalize(self, m: Message, args: list[str]) -> None:
        result = await self.run(m, calendar.finalize, args)
        if result is None or result.value is None:
            return
        posted = await self.run_duty(f"annual:{result.value.year}")
        await self.show(m, Result().reply(calendar.finalized(result.value, posted)))

    # ------------------------------------------------------------------ running and showing
    def event(self, m: Message) -> Event:
        """The message as a use-case event (keyed by DingTalk's msgId)."""
        i = m.incoming
        return Event(DINGTALK, i.sender_id, f"dt:{i.message_id}", self.clock(), m.private)

    async def run(self, m: Message, fn: Verb, *args: Any, **kwargs: Any) -> Result | None:
        """Run a verb and show its result; None when nothing was done."""
        try:
            result = await self.usecases.run(self.event(m), fn, *args, **kwargs)
        except KaoheError as exc:
            await self._reply(m, say("error.html.j2", error=exc))
            return None
        if result.duplicate:
            log.info("DingTalk message %s already processed; skipped", m.incoming.message_id)
            return None
        if result.refusal is not None:
            await self._reply(m, result.refusal)
            return None
        await self.show(m, result)
        return result

    async def show(self, m: Message, result: Result) -> None:
        """Every message of a result, where it goes (no alerts here: they are messages)."""
        alert = await deliver_result(result, lambda out: self._deliver(m, out.say, out.to),
                                     self.usecases)  # fmt: skip
        if alert is not None:
            await self._reply(m, alert)

    async def _deliver(self, m: Message, message: Say, to: object) -> list[Copy] | None:
        try:
            if to in (REPLY, EDIT):
                return await self._reply(m, message)
            if to == DIRECT:
                copy = await self.sender.to_user(m.incoming.sender_id, message)
                return [copy] if copy else []
            if isinstance(to, Person):
                return await self.outbox.to_person(to, message)
            if isinstance(to, Group):
                for sender in self.outbox.senders.values():
                    if sender.has_group:
                        await sender.to_group(message)
                return []
            if isinstance(to, Copies):
                await self.outbox.replace(to.copies, message, caption=to.caption)
                return []
        except (Undeliverable, DeliveryFailed) as exc:
            log.warning("DingTalk message %s: not delivered: %s", m.incoming.message_id, exc)
            return None
        raise ValueError(f"unknown target {to!r}")

    async def _reply(self, m: Message, message: Say) -> list[Copy] | None:
        """A message in the chat the person wrote in."""
        try:
            if m.private:
                copy = await self.sender.to_user(m.incoming.sender_id, message)
                return [copy] if copy else []
            await self.sender.to_conversation(m.incoming.conversation_id, message)
            return []
        except (Undeliverable, DeliveryFailed) as exc:
            log.warning("DingTalk message %s: no answer delivered: %s", m.incoming.message_id, exc)
            return None
