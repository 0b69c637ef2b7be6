"""/notes and /reflection: study notes (characters counted or declared) and reflections."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from handlers.common import Context, act, evidence_kept, text_of
from usecases import people


def _body(update: Update, command: str) -> str:
    """The text after the command (of a text, or a photo's or document's caption)."""
    return re.sub(rf"^/{command}(@\w+)?", "", text_of(update), count=1).strip()


async def on_notes(update: Update, context: Context) -> None:
    """Study notes: typed text is counted; a photo declares its characters."""
    evidence, _, kept = await evidence_kept(update, context)
    await act(update, context, people.hand_in_notes, _body(update, "notes"), evidence, kept)


async def on_reflection(update: Update, context: Context) -> None:
    """A study reflection (心得): text, photo or document."""
    evidence, _, kept = await evidence_kept(update, context)
    body = _body(update, "reflection")
    await act(update, context, people.hand_in_reflection, body, evidence, kept)


def build() -> list[BaseHandler]:
    """This module's handlers (a photo or document captioned /notes or /reflection too)."""
    media = filters.PHOTO | filters.Document.ALL
    return [
        CommandHandler("notes", on_notes),
        CommandHandler("reflection", on_reflection),
        MessageHandler(media & filters.CaptionRegex(r"^/notes"), on_notes),
        MessageHandler(media & filters.CaptionRegex(r"^/reflection"), on_reflection),
    ]
