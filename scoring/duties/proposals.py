"""Year-end proposals: notes under the yearly characters and missing reflections.

Each proposal becomes a card the office confirms (recorded through the ledger, source
``duty``) or dismisses; a proposal is carded once, and never proposed again once recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from scoring import ledger
from scoring.cards import Outcome, Proposal, ProposalCard
from scoring.duties.common import DUTY_SOURCE
from scoring.errors import Conflict
from scoring.models import Department, Entry, Person, StudySubmission
from scoring.parser import Charge, Finding, RosterPerson
from scoring.pending import Card, cards, get_card, open_card, resolve_card
from scoring.periods import Period
from scoring.rules import Rules
from scoring.standings import live_entries

PROPOSAL = ProposalCard.card_kind


def _already_charged(session: Session, year: int, item_code: str) -> dict[int, int]:
    """Live counts of an item already recorded per person in the year."""
    rows = session.exec(
        select(col(Entry.person_id), func.sum(col(Entry.count)))
        .where(live_entries("deduction", Period.parse(str(year))), Entry.item_code == item_code)
        .group_by(col(Entry.person_id))
    ).all()
    return {int(pid): int(n or 0) for pid, n in rows if pid is not None}


def year_end_proposals(session: Session, rules: Rules, year: int) -> list[Proposal]:
    """Notes under the yearly characters and missing reflections, per active person.

    Reflections are counted over the year (每少1篇扣1分: one per piece short of the
    yearly number). Deductions for these items already recorded in the year are
    subtracted, so a confirmed proposal is never proposed again.
    """
    study = rules.study
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    totals: dict[tuple[int, str], tuple[int, int]] = {}
    for pid, kind, chars, n in session.exec(
        select(col(StudySubmission.person_id), col(StudySubmission.kind),
               func.sum(col(StudySubmission.chars)), func.count())
        .where(col(StudySubmission.fact_date) >= start, col(StudySubmission.fact_date) < end)
        .group_by(col(StudySubmission.person_id), col(StudySubmission.kind))
    ).all():  # fmt: skip
        totals[(int(pid), str(kind))] = (int(chars or 0), int(n))
    notes_item = rules.item(study.notes_short_item)
    reflection_item = rules.item(study.reflection_missing_item)
    notes_charged = _already_charged(session, year, notes_item.code)
    reflections_charged = _already_charged(session, year, reflection_item.code)
    people = session.exec(
        select(Person.id, Person.name, Department.name)
        .join(Department, col(Department.id) == col(Person.department_id))
        .where(col(Person.active).is_(True))
        .order_by(col(Department.id), col(Person.id))
    ).all()
    out: list[Proposal] = []
    for person_id, name, dept in people:
        pid = int(person_id or 0)
        chars = totals.get((pid, "notes"), (0, 0))[0]
        if chars < study.notes_chars_per_year and not notes_charged.get(pid):
            out.append(Proposal(year=year, person_id=pid, name=name, department=dept,
                                item_code=notes_item.code, item_name=notes_item.name, count=1,
                                points=notes_item.points, have=chars,
                                need=study.notes_chars_per_year))  # fmt: skip
        handed = totals.get((pid, "reflection"), (0, 0))[1]
        missing = study.reflections_per_year - handed - reflections_charged.get(pid, 0)
        if missing > 0:
            out.append(Proposal(year=year, person_id=pid, name=name, department=dept,
                                item_code=reflection_item.code, item_name=reflection_item.name,
                                count=missing, points=reflection_item.points * missing,
                                have=handed, need=study.reflections_per_year))  # fmt: skip
    return out


def proposal_of(card: Card) -> Proposal:
    """The proposal a card holds."""
    return card.body(ProposalCard).proposal


def pending_proposals(session: Session, year: int) -> list[Card]:
    """The year's proposal cards awaiting the office, oldest first."""
    return [c for c in cards(session, PROPOSAL) if c.body(ProposalCard).year == year]


def open_proposal_cards(
    session: Session, rules: Rules, year: int, *, now: datetime
) -> list[tuple[Card, Proposal]]:
    """A card for every proposal of the year not carded before (running twice adds none).

    Returns the year's cards still pending, new and old.
    """
    known = {
        c.body(ProposalCard).key
        for state in ("pending", "confirmed", "dismissed", "obsolete")
        for c in cards(session, PROPOSAL, state=state)
    }
    for p in year_end_proposals(session, rules, year):
        if p.key not in known:
            body = ProposalCard.model_validate(p.model_dump())
            open_card(session, body, person_id=p.person_id, now=now)
    return [(c, proposal_of(c)) for c in pending_proposals(session, year)]


@dataclass(frozen=True)
class ProposalOutcome:
    """What became of a proposal card: confirmed (with its entries) or obsolete."""

    state: str
    proposal: Proposal
    entry_ids: tuple[int, ...] = ()


def confirm_proposal(
    session: Session, rules: Rules, card_id: int, *, by: str, by_id: int, now: datetime
) -> ProposalOutcome:
    """Record a proposal through the ledger (source ``duty``), as the data stands now.

    If the person has since handed in what was missing, nothing is recorded and the card
    becomes obsolete.
    """
    card = get_card(session, card_id, PROPOSAL)
    if card.state != "pending":
        raise Conflict(_handled(card))
    asked = proposal_of(card)
    ledger.check_year_open(session, asked.year)
    current = next(
        (p for p in year_end_proposals(session, rules, asked.year) if p.key == asked.key), None
    )
    if current is None:
        resolve_card(session, card_id, to="obsolete", by=by_id, now=now)
        return ProposalOutcome("obsolete", asked)
    item = rules.item(current.item_code)
    finding = Finding(
        text=f"{current.label} {item.name}",
        item=item,
        count=current.count,
        charges=(
            Charge(RosterPerson(current.person_id, current.name, current.department),
                   current.points, "本人"),
        ),
    )  # fmt: skip
    fact = min(now.date(), date(current.year, 12, 31))
    entries = ledger.record_finding(
        session, finding, fact_date=fact, by=by, now=now, source=DUTY_SOURCE,
        note=f"年终核查:{current.have}/{current.need}",
    )  # fmt: skip
    ids = tuple(e.id for e in entries if e.id is not None)
    if not resolve_card(session, card_id, to="confirmed", by=by_id, now=now,
                        result=Outcome(entries=ids)):  # fmt: skip
        raise Conflict("这条建议已经处理过了")
    return ProposalOutcome("confirmed", current, ids)


def dismiss_proposal(
    session: Session, card_id: int, *, by: str, by_id: int, now: datetime
) -> Proposal:
    """Dismiss a proposal: nothing is recorded."""
    card = get_card(session, card_id, PROPOSAL)
    if not resolve_card(session, card_id, to="dismissed", by=by_id, now=now):
        raise Conflict(_handled(card))
    ledger.audit(session, now=now, actor=by, action="proposal_dismiss", card=card_id,
                 proposal=card.body(ProposalCard).key)  # fmt: skip
    return proposal_of(card)


def _handled(card: Card) -> str:
    return {
        "confirmed": "这条建议已确认记录",
        "dismissed": "这条建议已驳回",
        "obsolete": "情况已变化,这条建议已失效",
    }.get(card.state, "这条建议已经处理过了")
