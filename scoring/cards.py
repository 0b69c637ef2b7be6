"""What each kind of pending card holds: one frozen, typed model per kind, stored in one place.

A card's kind is stored beside its payload (``PendingAction.kind``); ``MODELS`` maps each kind
to its model, and ``load_payload``/``dump_payload`` (with ``load_outcome``/``dump_outcome`` for
what became of a card) are the only code that reads or writes the stored JSON. The JSON is the
one cards have always been stored as, so cards opened before these models load unchanged;
the one difference is ``copies``, once Telegram (chat, message) pairs, now (messenger, chat,
message) triples: a pair still reads, as a Telegram copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    computed_field,
    field_validator,
    model_validator,
)

from scoring.points import fmt

TELEGRAM = "tg"  # the messenger of copies stored as (chat, message) pairs

# Points as people write them (0.5, 3, 14.5): the same number however it was computed.
Points = Annotated[Decimal, PlainSerializer(fmt, return_type=str, when_used="json")]


class Copy(NamedTuple):
    """Where one copy of a card was sent, to edit it when the card is decided."""

    messenger: str  # "tg", "dt" …
    chat: str
    message: str

    @classmethod
    def of(cls, stored: Sequence[object]) -> Copy:
        """A copy as stored or handed in: (messenger, chat, message), or a Telegram
        (chat, message) pair as cards were stored before there was another messenger."""
        if len(stored) == 2:
            return cls(TELEGRAM, str(stored[0]), str(stored[1]))
        if len(stored) == 3:
            return cls(str(stored[0]), str(stored[1]), str(stored[2]))
        raise ValueError(f"a card copy is (messenger, chat, message), not {stored!r}")


def merged_copies(known: Iterable[Copy], new: Iterable[Sequence[object]]) -> tuple[Copy, ...]:
    """The copies known, then the new ones not known yet, each once, in order."""
    return tuple(dict.fromkeys([*known, *(Copy.of(c) for c in new)]))


class _Stored(BaseModel):
    """Stored data: never changed in place, and a field nobody declared is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CardBody(_Stored):
    """What every card holds: where its copies were sent (see ``scoring.pending.add_copies``)."""

    card_kind: ClassVar[str]
    copies: tuple[Copy, ...] = ()

    @field_validator("copies", mode="before")
    @classmethod
    def _copies(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(Copy.of(c) for c in value)
        return value


# ------------------------------------------------------------ an inspector's finding
class ChargeRow(NamedTuple):
    """One person's share of a finding, as the card showed it (stored as a JSON array)."""

    person_id: int
    name: str
    department: str
    points: Points
    role: str


class Shown(_Stored):
    """The finding as its card showed it: confirming records exactly this."""

    item: str  # the item's code
    count: int
    department: str | None
    charges: tuple[ChargeRow, ...]


class FindingCard(CardBody):
    """A finding awaiting its recorder's 确认."""

    card_kind: ClassVar[str] = "finding"
    text: str
    fact_date: date
    evidence: str = ""
    evidence_file: str = ""  # the local copy (scoring.evidence), "" for none
    recorder: str
    recorder_id: int
    shown: Shown


class SuggestCard(CardBody):
    """A finding that could not be read, with what the recorder may have meant."""

    card_kind: ClassVar[str] = "suggest"
    text: str
    fact_date: date
    evidence: str = ""
    evidence_file: str = ""
    wrong: str  # what was typed
    about: str  # "person" or "item": what ``wrong`` names
    options: tuple[str, ...]


# ------------------------------------------------------------ a bonus claim
class ClaimCard(CardBody):
    """A bonus claim awaiting a leader's 批准 or 驳回."""

    card_kind: ClassVar[str] = "claim"
    claimant_id: int
    claimant: str
    kind: str  # the bonus kind's code (award, article)
    level: str
    title: str
    evidence: str
    evidence_type: str
    evidence_file: str = ""  # the local copy (scoring.evidence), "" for none
    claim_date: date
    fact_date: date  # the honour's or publication's date: the bonus counts for its year

    @model_validator(mode="before")
    @classmethod
    def _dated_on_claim(cls, data: Any) -> Any:
        """A claim opened before claims carried the honour's date counts on its claim date."""
        if isinstance(data, dict) and "fact_date" not in data and "claim_date" in data:
            return {**data, "fact_date": data["claim_date"]}
        return data


# ------------------------------------------------------------ an appeal
class AppealedRow(_Stored):
    """The deduction appealed, as it stood when the appeal was opened."""

    entry_id: int
    item: str
    category: str
    count: int
    points: Points
    fact_date: date
    recorded_by: str


class AppealCard(CardBody):
    """An appeal awaiting the leading group's decision."""

    card_kind: ClassVar[str] = "appeal"
    entry_id: int
    appellant_id: int
    appellant: str
    reason: str
    entry: AppealedRow


# ------------------------------------------------------------ a year-end proposal
class Proposal(_Stored):
    """A year-end deduction the data implies, for the office to confirm or dismiss."""

    year: int
    person_id: int
    name: str
    department: str
    item_code: str
    item_name: str
    count: int
    points: Points
    have: int  # characters of notes, or reflections handed in
    need: int  # characters required, or reflections required

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key(self) -> str:
        """What the proposal is about, stable across runs (stored, never carded twice)."""
        return f"{self.year}:{self.person_id}:{self.item_code}"

    @property
    def label(self) -> str:
        """The person as people read them."""
        return f"{self.name}({self.department})"

    @model_validator(mode="before")
    @classmethod
    def _derived_key(cls, data: Any) -> Any:
        """The stored key is read from the rest, not taken as given."""
        if isinstance(data, dict) and "key" in data:
            return {k: v for k, v in data.items() if k != "key"}
        return data


class ProposalCard(CardBody, Proposal):
    """A year-end proposal awaiting the office's 确认 or 驳回."""

    card_kind: ClassVar[str] = "proposal"

    @property
    def proposal(self) -> Proposal:
        """The proposal itself, without where its card went."""
        return Proposal.model_validate(self.model_dump(exclude={"copies"}))


class AttendanceCard(CardBody):
    """A deduction an attendance export implies, awaiting the office's 确认 or 驳回."""

    card_kind: ClassVar[str] = "attendance"
    key: str  # month:person:item, the same in every export of the month
    month: str
    person_id: int
    name: str
    department: str
    item_code: str
    item_name: str
    unit: str
    count: int
    points: Decimal
    file: str
    sha256: str
    line: int
    recorded: int


MODELS: dict[str, type[CardBody]] = {
    m.card_kind: m
    for m in (FindingCard, SuggestCard, ClaimCard, AppealCard, ProposalCard, AttendanceCard)
}


def load_payload(kind: str, stored: str) -> CardBody:
    """A stored payload as the model of its card's kind; a payload of another kind, or of a
    kind there is no model for, is refused (ValueError)."""
    model = MODELS.get(kind)
    if model is None:
        raise ValueError(f"no card kind {kind!r}")
    return model.model_validate_json(stored or "{}")


def dump_payload(body: CardBody) -> str:
    """A payload as it is stored."""
    return body.model_dump_json()


# ------------------------------------------------------------ what became of a card
class Outcome(_Stored):
    """A decided card's result: who decided (claims, appeals), why (a rejection), and the
    entries it recorded (a confirmed finding or proposal, an approved claim)."""

    by: str = ""
    reason: str = ""
    entries: tuple[int, ...] = ()
    # the people a confirmed finding charges were told (see usecases.findings.confirm_finding),
    # but for ``untold``: those who had no account to be told through
    noticed: bool = False
    untold: tuple[int, ...] = ()


def load_outcome(stored: str) -> Outcome:
    """A stored result ("" or "{}" while the card is pending)."""
    return Outcome.model_validate_json(stored or "{}")


def dump_outcome(outcome: Outcome) -> str:
    """A result as it is stored (only what it has: {"by": …}, {"entries": […]}, {})."""
    return outcome.model_dump_json(exclude_defaults=True)
