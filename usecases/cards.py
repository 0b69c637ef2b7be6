"""Cards sent to several people (a claim, an appeal): where each copy went, and evidence."""

from __future__ import annotations

from sqlmodel import Session

from scoring.pending import add_copies
from usecases.messages import Attachment, Copy

TELEGRAM_EVIDENCE = "tg"
_PREFIXED = ("dt",)  # evidence from these messengers is stored as "<messenger>:<ref>"


def evidence_ref(messenger: str, ref: str) -> str:
    """How a messenger's file reference is stored as evidence (Telegram's as it is)."""
    if not ref or messenger == TELEGRAM_EVIDENCE:
        return ref
    return f"{messenger}:{ref}"


def attachment(evidence: str, kind: str) -> Attachment | None:
    """The stored evidence as a file to send again (None when there is none)."""
    if not evidence:
        return None
    messenger, ref = TELEGRAM_EVIDENCE, evidence
    head, sep, tail = evidence.partition(":")
    if sep and head in _PREFIXED:
        messenger, ref = head, tail
    return Attachment("photo" if kind == "photo" else "document", ref, messenger)


def remember_copies(session: Session, copies: dict[int, list[Copy]]) -> None:
    """Store where each card was delivered: {card id: [(messenger, chat, message)]}."""
    for card_id, where in copies.items():
        add_copies(session, card_id, where)
