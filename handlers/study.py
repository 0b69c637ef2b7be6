"""/notes and /reflection: study notes (characters counted or declared) and reflections."""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.services import Services
from handlers.common import Context, gate, reply, services
from scoring.accounts import Account
from scoring.db import transaction
from scoring.errors import InputError
from scoring.pending import mark_update
from scoring.personal import StudyTally, study_tally, submit_study

_DECLARED = re.compile(r"^\s*(\d+)\s*字?\s*$")


def _content(msg: Message, command: str) -> tuple[str, str]:
    """(text after the command, evidence file id) of a text, photo or document message."""
    raw = msg.text or msg.caption or ""
    body = re.sub(rf"^/{command}(@\w+)?", "", raw, count=1).strip()
    evidence = (
        msg.photo[-1].file_id if msg.photo else (msg.document.file_id if msg.document else "")
    )
    return body, evidence


def _chars(body: str, evidence: str) -> int:
    """Characters of a typed note; a photo must declare its number ("/notes 800")."""
    if evidence:
        m = _DECLARED.match(body)
        if not m:
            raise InputError("照片提交请在说明中注明字数,例如:/notes 800")
        return int(m.group(1))
    return len(re.sub(r"\s", "", body))


async def on_notes(update: Update, context: Context, account: Account | None) -> None:
    """Study notes: typed text is counted; a photo declares its characters."""
    assert account is not None and update.effective_message is not None
    body, evidence = _content(update.effective_message, "notes")
    if not body and not evidence:
        await reply(update, context, services(context).views.render("notes_how.html.j2"))
        return
    await _submit(update, context, account, "notes", _chars(body, evidence), evidence)


async def on_reflection(update: Update, context: Context, account: Account | None) -> None:
    """A study reflection (心得): text, photo or document."""
    assert account is not None and update.effective_message is not None
    body, evidence = _content(update.effective_message, "reflection")
    if not body and not evidence:
        await reply(update, context, services(context).views.render("reflection_how.html.j2"))
        return
    await _submit(update, context, account, "reflection", len(re.sub(r"\s", "", body)), evidence)


async def _submit(
    update: Update, context: Context, account: Account, kind: str, chars: int, evidence: str
) -> None:
    svc = services(context)
    tally = await svc.run(_store, svc, account, kind, chars, evidence, update.update_id)
    await reply(
        update, context, svc.views.render("study_received.html.j2", kind=kind, chars=chars, t=tally)
    )


def _store(
    svc: Services, account: Account, kind: str, chars: int, evidence: str, update_id: int
) -> StudyTally:
    now = svc.now()
    with transaction(svc.engine) as s:
        mark_update(s, update_id, now=now)
        submit_study(
            s,
            person_id=account.person_id,
            kind=kind,
            chars=chars,
            fact_date=now.date(),
            evidence=evidence,
            now=now,
            actor=account.label,
        )
        s.flush()
        return study_tally(s, svc.rules, account.person_id, now.year)


def build() -> list[BaseHandler]:
    """This module's handlers (a photo or document captioned /notes or /reflection too)."""
    media = filters.PHOTO | filters.Document.ALL
    return [
        CommandHandler("notes", gate("notes", on_notes, records=True)),
        CommandHandler("reflection", gate("reflection", on_reflection, records=True)),
        MessageHandler(
            media & filters.CaptionRegex(r"^/notes"), gate("notes", on_notes, records=True)
        ),
        MessageHandler(
            media & filters.CaptionRegex(r"^/reflection"),
            gate("reflection", on_reflection, records=True),
        ),
    ]
