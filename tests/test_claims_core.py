"""Claims and appeals in the core, on a fresh in-memory database: who decides, and only once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from scoring import appeals, claims, ledger
from scoring.accounts import Account, account_for
from scoring.claims import ClaimView
from scoring.db import transaction
from scoring.errors import Conflict, InputError, NotFound, PermissionDenied
from scoring.models import Entry, PendingAction, Person, YearLock
from scoring.parser import parse_finding
from scoring.pending import add_copies, get_card
from scoring.periods import Period
from scoring.roster import DbRoster
from scoring.rules import Rules
from scoring.standings import compute_standings
from tests.helpers import NOW, add_person

PEOPLE = [
    ("冯科员", "办公室", (), "干部职工"),
    ("李督查", "办公室", (), "督查员,干部职工"),
    ("张三", "执法监察科", (), "干部职工"),
    ("王五", "法规科", (), "干部职工"),
    ("陈局", "局领导", ("执法监察科", "办公室"), "分管领导"),
    ("周组长", "局领导", ("法规科",), "考核领导小组,分管领导"),
]


@pytest.fixture
def people(session: Session) -> dict[str, Account]:
    """The bureau of the bot tests, everyone bound to Telegram."""
    for n, (name, dept, leads, roles) in enumerate(PEOPLE, start=1):
        person = session.get(Person, add_person(session, name, dept, leads=leads, roles=roles))
        assert person is not None
        person.telegram_user_id = 1000 + n
        session.add(person)
    session.flush()
    out = {}
    for n, (name, *_) in enumerate(PEOPLE, start=1):
        account = account_for(session, "tg", 1000 + n)
        assert account is not None
        out[name] = account
    return out


def _claim(
    session: Session,
    rules: Rules,
    claimant: Account,
    title: str = "全市安全生产先进个人",
    *,
    kind: str = "award",
    level: str = "市级",
    fact_date: date = NOW.date(),
) -> ClaimView:
    return claims.open_claim(
        session,
        rules,
        claimant=claimant,
        kind=kind,
        level=level,
        title=title,
        evidence="AgACphoto",
        evidence_type="photo",
        fact_date=fact_date,
        now=NOW,
    )


def _approve(session: Session, rules: Rules, claim: ClaimView, by: Account) -> ClaimView:
    return claims.approve_claim(session, rules, claim.card_id, by=by, now=NOW)


def _bonus(session: Session, rules: Rules, name: str) -> Decimal:
    standings = compute_standings(session, rules, Period.parse(str(NOW.year)))
    return {s.name: s.bonus for s in standings}[name]


def _count(session: Session, kind: str) -> int:
    return len(session.exec(select(Entry).where(Entry.kind == kind)).all())


# ------------------------------------------------------------ opening a claim
def test_a_claim_needs_evidence(session: Session, rules: Rules, people: dict[str, Account]) -> None:
    with pytest.raises(InputError, match="证据"):
        claims.open_claim(
            session,
            rules,
            claimant=people["冯科员"],
            kind="award",
            level="市级",
            title="先进",
            evidence="",
            evidence_type="photo",
            fact_date=NOW.date(),
            now=NOW,
        )


def test_a_claim_level_must_be_one_of_its_kinds_levels(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    with pytest.raises(InputError, match="省级、市级、区级"):
        _claim(session, rules, people["冯科员"], kind="article", level="国家级")
    with pytest.raises(InputError, match="表彰"):
        claims.check_kind(rules, "medal")


def test_a_claim_title_is_tidied_and_must_not_be_empty() -> None:
    assert claims.check_title("  全市  先进个人 ") == "全市 先进个人"
    with pytest.raises(InputError):
        claims.check_title("   ")
    with pytest.raises(InputError, match="100"):
        claims.check_title("长" * 101)


# ------------------------------------------------------------ the honour's or article's date
JAN_5 = date(2027, 1, 5)


@pytest.mark.parametrize("typed", ["2026-12-20", "2026/12/20", "2026年12月20日", "12月20日"])
def test_a_date_is_read_in_each_of_its_written_forms(typed: str) -> None:
    assert claims.parse_fact_date(typed, today=JAN_5) == date(2026, 12, 20)


def test_a_date_reads_full_width_digits_and_spaces() -> None:
    assert claims.parse_fact_date(" ２０２６年 ３月 ２日 ", today=JAN_5) == date(2026, 3, 2)
    assert claims.parse_fact_date("2026-3-2", today=JAN_5) == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("typed", "today", "meant"),
    [
        ("12月20日", date(2026, 12, 25), date(2026, 12, 20)),  # this year's, already past
        ("12月20日", date(2026, 12, 20), date(2026, 12, 20)),  # today itself
        ("12月21日", date(2026, 12, 20), date(2025, 12, 21)),  # not yet this year: last year's
        ("1月3日", JAN_5, date(2027, 1, 3)),
        ("2月29日", date(2029, 3, 1), date(2028, 2, 29)),  # the last year that has the day
    ],
)
def test_a_date_without_a_year_is_the_most_recent_such_day_not_ahead(
    typed: str, today: date, meant: date
) -> None:
    assert claims.parse_fact_date(typed, today=today) == meant


def test_a_date_ahead_of_today_is_refused() -> None:
    with pytest.raises(InputError, match="不能晚于今天"):
        claims.parse_fact_date("2027-01-06", today=JAN_5)


def test_a_date_before_last_year_is_refused_last_years_first_day_is_not() -> None:
    with pytest.raises(InputError, match=r"早于去年.*2026 年和 2027 年"):
        claims.parse_fact_date("2025年12月31日", today=JAN_5)
    with pytest.raises(InputError, match="早于去年"):  # the last 29 February was 2024
        claims.parse_fact_date("2月29日", today=JAN_5)
    assert claims.parse_fact_date("2026-01-01", today=JAN_5) == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("明天", "没看懂"),
        ("20261220", "没看懂"),
        ("2026-12", "没看懂"),
        ("", "请发送"),
        ("2026-02-30", "没有2026年2月30日"),
        ("13月1日", "没有13月1日"),
    ],
)
def test_a_date_that_cannot_be_read_is_refused_with_what_was_typed(typed: str, says: str) -> None:
    with pytest.raises(InputError, match=says):
        claims.parse_fact_date(typed, today=JAN_5)


def test_a_date_in_a_locked_year_is_refused(session: Session) -> None:
    session.add(YearLock(year=2026, locked_at=NOW, locked_by="周组长(局领导)"))
    session.flush()
    with pytest.raises(Conflict, match="2026年度考核已定案锁定"):
        claims.check_fact_date(session, date(2026, 12, 20), today=JAN_5)
    assert claims.check_fact_date(session, JAN_5, today=JAN_5) == JAN_5


def test_a_claim_dated_in_a_locked_year_cannot_be_opened(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    session.add(YearLock(year=NOW.year - 1, locked_at=NOW, locked_by="周组长(局领导)"))
    session.flush()
    with pytest.raises(Conflict, match="锁定"):
        _claim(session, rules, people["冯科员"], fact_date=date(NOW.year - 1, 12, 20))
    assert _claim(session, rules, people["冯科员"]).fact_date == NOW.date()


def test_a_claim_opened_before_claims_carried_a_date_counts_on_its_claim_date(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["冯科员"], fact_date=date(2026, 5, 18))
    row = session.get(PendingAction, claim.card_id)
    assert row is not None
    row.payload = json.dumps(
        {k: v for k, v in json.loads(row.payload).items() if k != "fact_date"}, ensure_ascii=False
    )
    session.add(row)
    session.flush()
    done = _approve(session, rules, claim, people["陈局"])
    assert done.fact_date == NOW.date()
    [entry] = session.exec(select(Entry).where(Entry.kind == "bonus")).all()
    assert entry.fact_date == NOW.date()


def test_opening_a_claim_records_nothing_but_the_card(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["冯科员"])
    assert claim.state == "pending" and claim.points == Decimal(5) and claim.kind_name == "表彰"
    assert _count(session, "bonus") == 0


def test_the_claim_goes_to_the_claimants_leaders_and_the_leading_group(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    office = _claim(session, rules, people["冯科员"])
    assert {a.name for a in claims.approvers(session, office)} == {"陈局", "周组长"}
    law = _claim(session, rules, people["王五"])
    assert [a.name for a in claims.approvers(session, law)] == ["周组长"]
    own = _claim(session, rules, people["周组长"])
    assert [a.name for a in claims.approvers(session, own)] == []


# ------------------------------------------------------------ deciding a claim
def test_approval_records_the_bonus_with_its_evidence_and_approver(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["冯科员"], level="省级", fact_date=date(2026, 5, 18))
    done = _approve(session, rules, claim, people["陈局"])
    assert done.state == "approved" and done.decided_by == "陈局(局领导)"
    [entry] = session.exec(select(Entry).where(Entry.kind == "bonus")).all()
    assert (entry.source, entry.evidence, entry.recorded_by) == ("bot", "AgACphoto", "陈局(局领导)")
    assert entry.fact_date == date(2026, 5, 18) and entry.id in done.entry_ids
    assert _bonus(session, rules, "冯科员") == Decimal(8)


def test_a_second_approval_is_told_who_decided_and_records_nothing(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["张三"])
    _approve(session, rules, claim, people["陈局"])
    with pytest.raises(Conflict, match=r"已由 陈局\(局领导\) 批准"):
        _approve(session, rules, claim, people["周组长"])
    assert _count(session, "bonus") == 1


def test_an_approver_who_read_the_card_before_the_other_committed_records_nothing(
    engine: Engine, rules: Rules, people: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(engine) as s:
        claim = _claim(s, rules, people["张三"])
        stale = get_card(s, claim.card_id)
        _approve(s, rules, claim, people["陈局"])
    monkeypatch.setattr(claims, "get_card", lambda *_a, **_k: stale)
    with pytest.raises(Conflict, match="陈局"), transaction(engine) as s:
        _approve(s, rules, claim, people["周组长"])
    with Session(engine) as s:
        assert _count(s, "bonus") == 1


def test_the_claimant_cannot_approve_their_own_claim(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["周组长"])
    with pytest.raises(PermissionDenied, match="本人"):
        _approve(session, rules, claim, people["周组长"])


def test_only_the_claimants_leader_or_the_leading_group_may_decide(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    law = _claim(session, rules, people["王五"])
    with pytest.raises(PermissionDenied, match="分管领导"):
        _approve(session, rules, law, people["陈局"])
    with pytest.raises(PermissionDenied):
        _approve(session, rules, law, people["李督查"])
    assert _count(session, "bonus") == 0
    assert _approve(session, rules, law, people["周组长"]).state == "approved"


def test_rejection_needs_a_reason_and_records_nothing(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["冯科员"])
    with pytest.raises(InputError, match="理由"):
        claims.reject_claim(session, rules, claim.card_id, reason=" ", by=people["陈局"], now=NOW)
    done = claims.reject_claim(
        session,
        rules,
        claim.card_id,
        reason="不是批准文件",
        by=people["陈局"],
        now=NOW,
    )
    assert (done.state, done.reason) == ("rejected", "不是批准文件")
    assert _count(session, "bonus") == 0
    with pytest.raises(Conflict, match="驳回"):
        _approve(session, rules, claim, people["周组长"])


def test_the_same_title_counts_once_at_its_highest_level_and_the_year_is_capped(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    for level in ("市级", "省级"):
        _approve(
            session,
            rules,
            _claim(session, rules, people["冯科员"], "优秀", level=level),
            people["陈局"],
        )
    assert _bonus(session, rules, "冯科员") == Decimal(8)
    _approve(
        session,
        rules,
        _claim(session, rules, people["冯科员"], "另一项", level="省级"),
        people["陈局"],
    )
    assert _bonus(session, rules, "冯科员") == Decimal(10)


def test_claims_awaiting_lists_only_what_this_person_may_decide(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    office = _claim(session, rules, people["冯科员"], "甲")
    law = _claim(session, rules, people["王五"], "乙")
    decided = _claim(session, rules, people["张三"], "丙")
    _approve(session, rules, decided, people["陈局"])

    def titles(who: str) -> list[str]:
        return [c.title for c in claims.claims_awaiting(session, rules, by=people[who])]

    assert titles("陈局") == [office.title]
    assert titles("周组长") == [office.title, law.title]
    assert titles("冯科员") == []


def test_copies_of_a_card_are_remembered_once_each(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["冯科员"])
    add_copies(session, claim.card_id, [("tg", "1", "10"), ("dt", "u2", "20")])
    add_copies(session, claim.card_id, [("dt", "u2", "20"), ("tg", "1", "11")])
    done = _approve(session, rules, claim, people["陈局"])
    assert done.copies == (("tg", "1", "10"), ("dt", "u2", "20"), ("tg", "1", "11"))


def test_copies_stored_before_there_were_two_messengers_read_as_telegrams(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    claim = _claim(session, rules, people["冯科员"])
    row = session.get(PendingAction, claim.card_id)
    assert row is not None
    payload = json.loads(row.payload)
    payload["copies"] = [[1003, 57]]  # (chat, message) as cards were stored before
    row.payload = json.dumps(payload, ensure_ascii=False)
    session.add(row)
    assert get_card(session, claim.card_id).copies == (("tg", "1003", "57"),)


# ------------------------------------------------------------ appeals
def _deduct(session: Session, rules: Rules, text: str = "冯科员 迟到") -> int:
    finding = parse_finding(text, rules=rules, roster=DbRoster(session))
    [entry] = ledger.record_finding(
        session, finding, fact_date=date(NOW.year, 3, 2), by="李督查(办公室)", now=NOW
    )
    assert entry.id is not None
    return entry.id


def _appeal(
    session: Session, rules: Rules, entry_id: int, by: Account, reason: str = "当天外出执法"
) -> appeals.AppealView:
    return appeals.open_appeal(session, rules, entry_id, reason=reason, by=by, now=NOW)


def _decide(
    session: Session, rules: Rules, appeal: appeals.AppealView, *, revoke: bool, by: Account
) -> appeals.AppealView:
    return appeals.decide_appeal(session, rules, appeal.card_id, revoke=revoke, by=by, now=NOW)


def test_only_the_person_charged_may_appeal_an_entry(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    entry_id = _deduct(session, rules)
    with pytest.raises(PermissionDenied, match="本人"):
        _appeal(session, rules, entry_id, people["张三"])
    with pytest.raises(NotFound):
        _appeal(session, rules, entry_id + 99, people["冯科员"])
    appeal = _appeal(session, rules, entry_id, people["冯科员"])
    assert appeal.entry.item == "迟到" and appeal.entry.points == Decimal("0.5")


def test_one_open_appeal_per_entry_and_none_on_a_revoked_entry(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    entry_id = _deduct(session, rules)
    appeal = _appeal(session, rules, entry_id, people["冯科员"])
    with pytest.raises(Conflict, match="处理中"):
        _appeal(session, rules, entry_id, people["冯科员"])
    _decide(session, rules, appeal, revoke=True, by=people["周组长"])
    with pytest.raises(Conflict, match="已撤销"):
        _appeal(session, rules, entry_id, people["冯科员"])


def test_a_revoked_appeal_revokes_the_entry_with_the_reason_once(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    entry_id = _deduct(session, rules)
    appeal = _appeal(session, rules, entry_id, people["冯科员"], "有派车单")
    done = _decide(session, rules, appeal, revoke=True, by=people["周组长"])
    assert done.revoked and done.decided_by == "周组长(局领导)"
    [rev] = session.exec(select(Entry).where(Entry.kind == "revocation")).all()
    assert (rev.revokes_id, rev.reason, rev.recorded_by) == (
        entry_id,
        "申诉成立:有派车单",
        "周组长(局领导)",
    )
    with pytest.raises(Conflict, match="撤销原记录"):
        _decide(session, rules, appeal, revoke=False, by=people["周组长"])
    assert _count(session, "revocation") == 1


def test_an_upheld_appeal_leaves_the_entry_counting(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    entry_id = _deduct(session, rules)
    done = _decide(
        session,
        rules,
        _appeal(session, rules, entry_id, people["冯科员"]),
        revoke=False,
        by=people["周组长"],
    )
    assert done.state == "upheld" and not done.revoked
    assert _count(session, "revocation") == 0


def test_only_the_leading_group_decides_and_never_on_their_own_appeal(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    entry_id = _deduct(session, rules, "周组长 迟到")
    appeal = _appeal(session, rules, entry_id, people["周组长"])
    assert appeals.deciders(session, appeal) == []
    with pytest.raises(PermissionDenied, match="本人"):
        _decide(session, rules, appeal, revoke=True, by=people["周组长"])
    with pytest.raises(PermissionDenied, match="考核领导小组"):
        _decide(session, rules, appeal, revoke=True, by=people["陈局"])
    assert _count(session, "revocation") == 0


def test_the_recorder_is_found_by_name_and_department(
    session: Session, rules: Rules, people: dict[str, Account]
) -> None:
    appeal = _appeal(session, rules, _deduct(session, rules), people["冯科员"])
    recorder = appeals.recorder_of(session, appeal)
    assert recorder is not None and recorder.person_id == people["李督查"].person_id
    unknown = replace(appeal, entry=replace(appeal.entry, recorded_by="cli"))
    assert appeals.recorder_of(session, unknown) is None
