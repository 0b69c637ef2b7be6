"""Pending cards as typed models: each kind stored and read in one place, and cards stored
before the models (their JSON written as the code wrote it then) still act as they did."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from scoring import appeals, claims, duties, findings, ledger
from scoring.accounts import Account, account_of_person
from scoring.cards import (
    AppealCard,
    AppealedRow,
    CardBody,
    ChargeRow,
    ClaimCard,
    Copy,
    FindingCard,
    ProposalCard,
    Shown,
    SuggestCard,
    dump_payload,
    load_payload,
)
from scoring.errors import Conflict, NotFound
from scoring.models import Entry, PendingAction, Person
from scoring.parser import parse_finding
from scoring.pending import add_copies, get_card, open_card
from scoring.roster import DbRoster
from scoring.rules import Rules
from tests.helpers import NOW, TZ, add_person

PEOPLE = [
    ("李督查", "办公室", (), "督查员,干部职工"),
    ("张三", "执法监察科", (), "干部职工"),
    ("陈局", "局领导", ("执法监察科",), "分管领导"),
    ("周组长", "局领导", (), "考核领导小组,分管领导"),
]


@pytest.fixture
def people(session: Session) -> dict[str, Account]:
    """A small bureau, everyone bound to Telegram (user ids 1001, 1002 …)."""
    out = {}
    for n, (name, dept, leads, roles) in enumerate(PEOPLE, start=1):
        pid = add_person(session, name, dept, leads=leads, roles=roles)
        person = session.get(Person, pid)
        assert person is not None
        person.telegram_user_id = 1000 + n
        session.add(person)
        session.flush()
        account = account_of_person(session, pid)
        assert account is not None
        out[name] = account
    return out


def old_card(
    session: Session, kind: str, payload: dict[str, Any], *, person_id: int, state: str = "pending"
) -> int:
    """A card row as the code before typed cards stored it (json.dumps of a dict)."""
    row = PendingAction(
        kind=kind,
        state=state,
        person_id=person_id,
        payload=json.dumps(payload, ensure_ascii=False),
        created_at=NOW,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def old_finding(people: dict[str, Account], day: str, evidence: str) -> dict[str, Any]:
    """A payload of 李督查 recording 张三 迟到, as the code before typed cards wrote it."""
    return {
        "text": "张三 迟到",
        "fact_date": day,
        "evidence": evidence,
        "recorder": "李督查(办公室)",
        "recorder_id": people["李督查"].person_id,
        "shown": {
            "item": "daily_late",
            "count": 1,
            "department": None,
            "charges": [[people["张三"].person_id, "张三", "执法监察科", "0.5", "本人"]],
        },
    }


def deduction(session: Session, rules: Rules, text: str = "张三 迟到") -> int:
    """Record a finding straight through the ledger; the id of its one entry."""
    finding = parse_finding(text, rules=rules, roster=DbRoster(session))
    [entry] = ledger.record_finding(
        session, finding, fact_date=NOW.date(), by="李督查(办公室)", now=NOW, source="bot"
    )
    assert entry.id is not None
    return entry.id


# ------------------------------------------------------------ each kind, stored and read back
SAMPLES: list[CardBody] = [
    FindingCard(
        text="张三、李四 早退",
        fact_date=date(2026, 6, 29),
        evidence="AgACphoto",
        recorder="李督查(办公室)",
        recorder_id=1,
        shown=Shown(
            item="daily_early",
            count=2,
            department=None,
            charges=(
                ChargeRow(2, "张三", "执法监察科", Decimal("1"), "本人"),
                ChargeRow(5, "李四", "法规科", Decimal("1"), "本人"),
            ),
        ),
    ),
    SuggestCard(
        text="张散 迟到",
        fact_date=date(2026, 6, 29),
        wrong="张散",
        about="person",
        options=("张三", "张山"),
    ),
    ClaimCard(
        claimant_id=2,
        claimant="张三(执法监察科)",
        kind="award",
        level="市级",
        title="全市安全生产先进个人",
        evidence="BQACdoc",
        evidence_type="document",
        claim_date=date(2026, 6, 30),
        fact_date=date(2025, 12, 20),
        copies=(Copy("tg", "1003", "57"), Copy("dt", "cidXYZ==", "msg-9")),
    ),
    AppealCard(
        entry_id=7,
        appellant_id=2,
        appellant="张三(执法监察科)",
        reason="当天请了假",
        entry=AppealedRow(
            entry_id=7,
            item="迟到",
            category="机关日常",
            count=1,
            points=Decimal("0.5"),
            fact_date=date(2026, 6, 29),
            recorded_by="李督查(办公室)",
        ),
    ),
    ProposalCard(
        year=2026,
        person_id=2,
        name="张三",
        department="执法监察科",
        item_code="study_reflection_missing",
        item_name="学习心得缺少",
        count=2,
        points=Decimal(2),
        have=0,
        need=2,
    ),
]


@pytest.mark.parametrize("body", SAMPLES, ids=lambda b: b.card_kind)
def test_every_kind_of_card_reads_back_as_it_was_stored(
    session: Session, people: dict[str, Account], body: CardBody
) -> None:
    assert load_payload(body.card_kind, dump_payload(body)) == body
    card = open_card(session, body, person_id=people["张三"].person_id, now=NOW)
    again = get_card(session, card.id, body.card_kind)
    assert (again.kind, again.payload, again.state) == (body.card_kind, body, "pending")


def test_a_card_of_one_kind_is_not_read_as_another(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    finding, claim = SAMPLES[0], SAMPLES[2]
    with pytest.raises(ValueError):
        load_payload("claim", dump_payload(finding))
    with pytest.raises(ValueError):
        load_payload("finding", dump_payload(claim))
    with pytest.raises(ValueError, match="vote"):
        load_payload("vote", dump_payload(finding))
    card = open_card(session, finding, person_id=people["李督查"].person_id, now=NOW)
    with pytest.raises(NotFound, match="失效"):
        get_card(session, card.id).body(ClaimCard)
    with pytest.raises(NotFound, match="失效"):  # a finding's id pressed as a claim's
        claims.approve_claim(session, rules, card.id, by=people["陈局"], now=NOW)


# ------------------------------------------------------------ cards stored before the models
def test_a_finding_card_stored_before_typed_cards_is_confirmed_as_it_showed(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    li, zhang = people["李督查"], people["张三"]
    payload = old_finding(people, "2026-06-29", "AgACphoto")
    card_id = old_card(session, "finding", payload, person_id=li.person_id)
    view = findings.confirm_finding(session, rules, card_id, by=li, now=NOW)
    assert (view.fact_date, view.evidence, view.recorder) == (
        date(2026, 6, 29),
        "AgACphoto",
        "李督查(办公室)",
    )
    [charge] = view.charges
    assert (charge.person_id, charge.points, charge.label) == (
        zhang.person_id,
        Decimal("0.5"),
        "张三(执法监察科)",
    )
    entry = session.get(Entry, charge.entry_id)
    assert entry is not None
    assert (entry.points_cp, entry.fact_date) == (50, date(2026, 6, 29))
    assert entry.evidence == "AgACphoto"


def test_a_finding_confirmed_before_typed_cards_can_still_be_taken_back(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    li = people["李督查"]
    entry_id = deduction(session, rules)
    payload = old_finding(people, NOW.date().isoformat(), "")
    card_id = old_card(session, "finding", payload, person_id=li.person_id, state="confirmed")
    row = session.get(PendingAction, card_id)
    assert row is not None
    row.result, row.resolved_at = json.dumps({"entries": [entry_id]}), NOW
    session.add(row)
    session.flush()
    later = datetime(2026, 6, 30, 9, 5, tzinfo=TZ)
    view = findings.undo_finding(session, rules, card_id, by=li, now=later)
    assert [c.entry_id for c in view.charges] == [entry_id]
    revoking = session.exec(select(Entry).where(Entry.revokes_id == entry_id)).one()
    assert revoking.reason == "记录人撤回"


def test_a_suggestion_card_stored_before_typed_cards_completes_the_finding(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    li = people["李督查"]
    card_id = old_card(
        session,
        "suggest",
        {
            "text": "张散 迟到",
            "fact_date": "2026-06-29",
            "evidence": "",
            "wrong": "张散",
            "about": "person",
            "options": ["张三"],
        },
        person_id=li.person_id,
    )
    view = findings.pick_suggestion(session, rules, card_id, 0, by=li, now=NOW)
    assert view.fact_date == date(2026, 6, 29)
    assert [c.label for c in view.charges] == ["张三(执法监察科)"]


def test_copies_stored_as_telegram_pairs_read_as_telegram_copies_beside_other_messengers(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    zhang = people["张三"]
    card_id = old_card(
        session,
        "claim",
        {
            "claimant_id": zhang.person_id,
            "claimant": "张三(执法监察科)",
            "kind": "award",
            "level": "市级",
            "title": "全市安全生产先进个人",
            "evidence": "AgACphoto",
            "evidence_type": "photo",
            "claim_date": "2026-06-30",
            "fact_date": "2026-05-18",
            "copies": [[1003, 57], [1004, 8]],
        },
        person_id=zhang.person_id,
    )
    add_copies(session, card_id, [("dt", "cidXYZ==", "msg-9"), (1003, 57), ("tg", "1004", "8")])
    assert get_card(session, card_id).copies == (
        ("tg", "1003", "57"),
        ("tg", "1004", "8"),
        ("dt", "cidXYZ==", "msg-9"),
    )
    row = session.get(PendingAction, card_id)
    assert row is not None
    assert json.loads(row.payload)["copies"] == [
        ["tg", "1003", "57"],
        ["tg", "1004", "8"],
        ["dt", "cidXYZ==", "msg-9"],
    ]
    done = claims.approve_claim(session, rules, card_id, by=people["陈局"], now=NOW)
    assert done.copies == (  # every copy to show the decision on, in each messenger
        ("tg", "1003", "57"),
        ("tg", "1004", "8"),
        ("dt", "cidXYZ==", "msg-9"),
    )
    assert (done.state, done.fact_date, done.decided_by) == (
        "approved",
        date(2026, 5, 18),
        "陈局(局领导)",
    )


def test_an_appeal_stored_before_typed_cards_is_decided(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    zhang = people["张三"]
    entry_id = deduction(session, rules)
    card_id = old_card(
        session,
        "appeal",
        {
            "entry_id": entry_id,
            "appellant_id": zhang.person_id,
            "appellant": "张三(执法监察科)",
            "reason": "当天请了假",
            "entry": {
                "entry_id": entry_id,
                "item": "迟到",
                "category": "机关日常",
                "count": 1,
                "points": "0.5",
                "fact_date": NOW.date().isoformat(),
                "recorded_by": "李督查(办公室)",
            },
        },
        person_id=zhang.person_id,
    )
    with pytest.raises(Conflict, match="正在处理"):  # the old card still holds the entry
        appeals.appealable_entry(session, rules, entry_id, by=zhang)
    done = appeals.decide_appeal(session, rules, card_id, revoke=True, by=people["周组长"], now=NOW)
    assert (done.state, done.entry.points, done.reason) == ("revoked", Decimal("0.5"), "当天请了假")
    revoking = session.exec(select(Entry).where(Entry.revokes_id == entry_id)).one()
    assert revoking.reason == "申诉成立:当天请了假"


def test_a_proposal_stored_before_typed_cards_is_not_carded_again_and_is_recorded(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    zhang = people["张三"]
    key = f"2026:{zhang.person_id}:study_notes_short"
    payload = {
        "key": key, "year": 2026, "person_id": zhang.person_id, "name": "张三",
        "department": "执法监察科", "item_code": "study_notes_short",
        "item_name": "全年学习笔记少于1万字", "count": 1, "points": "2", "have": 0, "need": 10000,
    }  # fmt: skip
    card_id = old_card(session, "proposal", payload, person_id=zhang.person_id)
    december = datetime(2026, 12, 20, 9, 0, tzinfo=TZ)
    carded = duties.open_proposal_cards(session, rules, 2026, now=december)
    mine = [p.key for _, p in carded if p.person_id == zhang.person_id]
    assert mine.count(key) == 1
    out = duties.confirm_proposal(
        session, rules, card_id, by="李督查(办公室)", by_id=people["李督查"].person_id, now=december
    )
    assert (out.state, out.proposal.points) == ("confirmed", Decimal(2))
    [entry] = [session.get(Entry, i) for i in out.entry_ids]
    assert entry is not None and entry.item_code == "study_notes_short"
    assert get_card(session, card_id).result.entries == out.entry_ids
