"""The year-end review in the chat, from the plan's words: 民主评议 (a secret vote, the mean
of the points received), 分管领导评分 (a person led by two leaders gets the mean), 班子综合
评议 (one agreed score), and /finalize refusing while any part is missing.

Expectations are worked out by hand from the bundled rules file: the scale 优秀/称职/基本称职/
不称职 = 10/8/6/4, means rounded half up to two decimals, two thirds of the roll to count.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from scoring import calendar, duties, review, vote
from scoring.accounts import Account, account_of_person
from scoring.db import make_engine, transaction, upgrade
from scoring.errors import Conflict, InputError, PermissionDenied, RulesError
from scoring.models import Audit, Person, ReviewDraft, ReviewScore, Vote, YearLock
from scoring.periods import Period
from scoring.roster import import_roster
from scoring.rules import Rules, default_rules_text, load_rules, parse_rules
from scoring.standings import compute_standings
from tests.harness import ROSTER, TZ, write_roster
from tests.helpers import dump_sqlite
from usecases import review as review_uc
from usecases.core import Event, UseCases
from usecases.messages import DIRECT, EDIT, Group
from usecases.messages import Person as Recipient

# The harness bureau, with a second leader in charge of 执法监察科 (赵局): 张三 and 李四 are led
# by 陈局 and 赵局; 冯科员, 李督查 and 管理员甲 (办公室) by 陈局; 王五 (法规科) by 周组长.
BUREAU = ROSTER + "赵局,局领导,副局长,公务员,分管领导,执法监察科,副处级\n"
YEAR = 2026
OPENED = datetime(2026, 12, 28, 9, 0, tzinfo=TZ)
LATER = datetime(2027, 1, 8, 10, 0, tzinfo=TZ)
EXCELLENT, COMPETENT, BASIC, POOR = 0, 1, 2, 3  # the scale's levels, best first


def people(session: Session) -> dict[str, int]:
    return {p.name: p.id for p in session.exec(select(Person)).all() if p.id is not None}


@pytest.fixture
def ids(session: Session, tmp_path: Path) -> dict[str, int]:
    import_roster(
        session, write_roster(tmp_path, BUREAU), rules=load_rules(), now=OPENED, actor="test"
    )
    session.commit()
    return people(session)


def account(session: Session, pid: int) -> Account:
    session.get(Person, pid).telegram_user_id = 5000 + pid  # type: ignore[union-attr]
    session.flush()
    found = account_of_person(session, pid)
    assert found is not None
    return found


def ballot_of(session: Session, rules: Rules, voter: int, ratings: dict[int, int]) -> None:
    """A voter rates every colleague (``ratings``; the rest 称职) and submits."""
    b = vote.ballot(session, rules, YEAR, voter, now=OPENED)
    for person, _ in b.rows:
        level = ratings.get(person.id, COMPETENT)
        vote.rate(session, rules, YEAR, voter, person.id, level, now=OPENED)
    vote.submit_ballot(session, rules, YEAR, voter, now=OPENED)


def open_2026(session: Session, rules: Rules, closes_on: date | None = None) -> None:
    vote.open_vote(session, rules, YEAR, closes_on=closes_on, by="周组长(局领导)", now=OPENED)


# ------------------------------------------------------------------ the pure rules
def test_the_mean_of_points_received_is_rounded_half_up_to_two_decimals(rules: Rules) -> None:
    scale = rules.review.vote.scale
    # 优秀, 称职, 称职: (10 + 8 + 8) / 3 = 8.666… → 8.67
    assert vote.received_mean([1, 2, 0, 0], scale, rules) == Decimal("8.67")
    # 称职, 基本称职: 7 exactly; 优秀 ×1, 不称职 ×7: (10 + 28) / 8 = 4.75
    assert vote.received_mean([0, 1, 1, 0], scale, rules) == Decimal("7.00")
    assert vote.received_mean([1, 0, 0, 7], scale, rules) == Decimal("4.75")
    # 优秀 ×3, 称职 ×4, 基本称职 ×1: 68 / 8 = 8.5 exactly; 优秀, 称职 ×7: 66 / 8 = 8.25
    assert vote.received_mean([3, 4, 1, 0], scale, rules) == Decimal("8.50")
    # a half at the third decimal goes up: (4.25 + 4.00) / 2 = 4.125 → 4.13
    assert review.rounded_mean([Decimal("4.25"), Decimal("4")], rules.review) == Decimal("4.13")


def test_two_thirds_of_the_roll_is_the_minimum_turnout(rules: Rules) -> None:
    two_thirds = rules.review.vote.min_turnout
    assert two_thirds == Fraction(2, 3)
    assert vote.turnout_enough(6, 9, two_thirds)  # exactly two thirds
    assert not vote.turnout_enough(5, 8, two_thirds)  # 62.5 %
    assert vote.turnout_enough(6, 8, two_thirds)
    assert not vote.turnout_enough(0, 0, two_thirds)


def test_typed_scores_are_read_one_name_and_number_after_another() -> None:
    assert review.parse_score_lines("张三 4.5\n李四 4\n王五(法规科)3.8") == [
        ("张三", "4.5"), ("李四", "4"), ("王五(法规科)", "3.8"),
    ]  # fmt: skip
    assert review.parse_score_lines("张三:5,李四 4.2") == [("张三", "5"), ("李四", "4.2")]
    with pytest.raises(InputError, match="没看懂“很好”"):
        review.parse_score_lines("张三 4.5 很好")


def test_the_rules_file_checks_the_vote_and_the_scores_it_names() -> None:
    text = default_rules_text().replace('part = "report"', 'part = "speech"', 1)
    text = text.replace(
        'points = "10"\n\n[[review.vote.scale]]', 'points = "12"\n\n[[review.vote.scale]]'
    )
    text = text.replace('[review.group]\npart = "group"', '[review.group]\npart = "leader"')
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert caught.value.problems == [
        "review.vote.part: unknown review part 'speech'",
        "review.group.part: 'leader' is already filled by another source",
    ]
    over = default_rules_text().replace('points = "10"\n\n[[review.vote.scale]]',
                                        'points = "12"\n\n[[review.vote.scale]]', 1)  # fmt: skip
    with pytest.raises(RulesError, match=r"review.vote.scale\[0\]: points above"):
        parse_rules(over)


# ------------------------------------------------------------------ the vote
def test_a_ballot_lists_every_colleague_but_the_voter(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules)
    b = vote.ballot(session, rules, YEAR, ids["张三"], now=OPENED)
    assert len(b.rows) == 8 and ids["张三"] not in {p.id for p, _ in b.rows}
    assert b.pages == 2  # five colleagues a page


def test_a_rating_can_be_changed_until_the_ballot_is_submitted(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules)
    voter, rated = ids["李四"], ids["张三"]
    vote.rate(session, rules, YEAR, voter, rated, EXCELLENT, now=OPENED)
    vote.rate(session, rules, YEAR, voter, rated, BASIC, now=OPENED)
    with pytest.raises(InputError, match="还有 7 位同事未评"):
        vote.submit_ballot(session, rules, YEAR, voter, now=OPENED)
    ballot_of(session, rules, voter, {rated: BASIC})
    got = {r.person.id: r.counts for r in vote.results(session, YEAR, TZ).people}
    assert got[rated] == (0, 0, 1, 0)  # one 基本称职, the 优秀 first pressed is gone


def test_nobody_votes_twice(session: Session, rules: Rules, ids: dict[str, int]) -> None:
    open_2026(session, rules)
    ballot_of(session, rules, ids["王五"], {})
    with pytest.raises(Conflict, match="每人只能投一次"):
        vote.submit_ballot(session, rules, YEAR, ids["王五"], now=OPENED)
    with pytest.raises(Conflict, match="每人只能投一次"):
        vote.rate(session, rules, YEAR, ids["王五"], ids["张三"], POOR, now=OPENED)
    assert vote.results(session, YEAR, TZ).distribution == (0, 8, 0, 0)


def _vote_in_a_file(tmp: Path, rules: Rules, swap: bool) -> dict[str, list[tuple[object, ...]]]:
    """A vote on a SQLite file: 张三 and 李四 rate 王五 优秀 and 不称职 (or the other way
    round when ``swap``), everything else alike; then every row of every table."""
    db = tmp / ("swapped.db" if swap else "plain.db")
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with transaction(engine) as s:
        import_roster(s, write_roster(tmp, BUREAU), rules=load_rules(), now=OPENED, actor="test")
    with transaction(engine) as s:
        pid = people(s)
        open_2026(s, rules)
        first, second = (POOR, EXCELLENT) if swap else (EXCELLENT, POOR)
    for voter, level in (("张三", first), ("李四", second)):
        with transaction(engine) as s:
            ballot_of(s, rules, pid[voter], {pid["王五"]: level})
    engine.dispose()
    return dump_sqlite(db)


def test_after_submission_no_row_of_any_table_links_a_voter_to_a_rating(
    tmp_path: Path, rules: Rules
) -> None:
    plain = _vote_in_a_file(tmp_path, rules, swap=False)
    swapped = _vote_in_a_file(tmp_path, rules, swap=True)
    # Who gave 王五 优秀 differs between the two databases; if any row of any table kept it,
    # the two would differ somewhere. (data_version holds a random stamp per write, the same
    # in number for both: it says that something was written, never what or by whom.)
    assert plain.keys() == swapped.keys()
    assert len(plain["data_version"]) == len(swapped["data_version"])
    assert {k: v for k, v in plain.items() if k != "data_version"} == {
        k: v for k, v in swapped.items() if k != "data_version"
    }
    assert plain["review_draft"] == []
    assert [voted for _year, _person, voted in plain["vote_roll"]].count(1) == 2
    assert [json.loads(str(r[4]))["year"] for r in plain["audit"] if r[3] == "vote_open"] == [2026]
    assert {r[3] for r in plain["audit"]} == {"roster_import", "vote_open"}


def test_the_group_sees_who_has_not_voted_never_what_anyone_voted(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules)
    ballot_of(session, rules, ids["张三"], {})
    t = vote.turnout(session, YEAR, TZ)
    assert t.voted == ("张三(执法监察科)",)
    assert "李四(执法监察科)" in t.not_voted and t.roll == 9


def test_closing_counts_each_persons_mean_into_the_report_part(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules)
    # six of nine vote (two thirds); 王五 gets 优秀 from 张三, 基本称职 from 李四, 称职 from 4
    voters = ["张三", "李四", "冯科员", "李督查", "陈局", "周组长"]
    for name in voters:
        level = {"张三": EXCELLENT, "李四": BASIC}.get(name, COMPETENT)
        ballot_of(session, rules, ids[name], {ids["王五"]: level})
    r = vote.close_vote(session, rules, YEAR, by="周组长(局领导)", now=LATER)
    assert r.turnout.state == vote.COUNTED
    means = {p.person.name: p.mean for p in r.people}
    assert means["王五"] == Decimal("8.00")  # (10 + 6 + 8 × 4) / 6
    assert means["张三"] == Decimal("8")  # five 称职 (he does not rate himself)
    assert review.parts_of(session, YEAR, ids["王五"]) == {"report": Decimal("8")}
    # 6 ballots × 8 colleagues: one 优秀, one 基本称职, the rest 称职
    assert r.distribution == (1, 46, 1, 0)


def test_under_two_thirds_the_vote_counts_only_once_the_leading_group_confirms(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules)
    for name in ("张三", "李四", "冯科员", "李督查", "陈局"):  # five of nine
        ballot_of(session, rules, ids[name], {})
    r = vote.close_vote(session, rules, YEAR, by="周组长(局领导)", now=LATER)
    assert r.turnout.state == vote.CLOSED and not r.turnout.enough
    assert review.parts_of(session, YEAR, ids["王五"]) == {}
    with pytest.raises(Conflict, match="已经截止"):
        vote.ballot(session, rules, YEAR, ids["王五"], now=LATER)
    r = vote.close_vote(session, rules, YEAR, by="周组长(局领导)", now=LATER, confirm=True)
    assert r.turnout.state == vote.COUNTED and r.turnout.low_turnout_confirmed
    assert review.parts_of(session, YEAR, ids["王五"]) == {"report": Decimal("8")}


def test_a_vote_closed_short_may_be_opened_again_with_a_new_date(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules)
    ballot_of(session, rules, ids["张三"], {})
    vote.close_vote(session, rules, YEAR, by="周组长(局领导)", now=LATER)
    vote.open_vote(session, rules, YEAR, closes_on=date(2027, 1, 15), by="周组长", now=LATER)
    with pytest.raises(Conflict, match="每人只能投一次"):  # the ballots in stay in
        vote.ballot(session, rules, YEAR, ids["张三"], now=LATER)
    assert vote.turnout(session, YEAR, TZ).voted == ("张三(执法监察科)",)


def test_ballots_are_refused_after_the_closing_time(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules, closes_on=date(2027, 1, 6))  # ballots until 18:00 that day
    at_close = datetime(2027, 1, 6, 18, 0, tzinfo=TZ)
    vote.ballot(session, rules, YEAR, ids["张三"], now=datetime(2027, 1, 6, 17, 59, tzinfo=TZ))
    with pytest.raises(Conflict, match="已于 2027-01-06 18:00 截止"):
        vote.rate(session, rules, YEAR, ids["张三"], ids["王五"], EXCELLENT, now=at_close)


def test_the_vote_has_a_reminder_the_day_before_and_closes_itself(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    open_2026(session, rules, closes_on=date(2027, 1, 6))
    found = {d.kind: d.due for d in vote.vote_duties(session, OPENED)}
    assert found == {
        "vote_remind": datetime(2027, 1, 5, 9, 0, tzinfo=TZ),
        "vote_close": datetime(2027, 1, 6, 18, 0, tzinfo=TZ),
    }
    due = duties.duties_due(session, rules.calendar, TZ, datetime(2027, 1, 5, 9, 1, tzinfo=TZ))
    assert "vote_remind:2026:202701061800" in calendar.keys(due)
    jobs = {r.name: r.status for r in duties.job_rows(session, rules.calendar, TZ, OPENED)}
    assert jobs["民主评议截止前的提醒"] == jobs["民主评议截止"] == "scheduled"  # kaohe jobs


# ------------------------------------------------------------------ leaders and the group
def test_a_person_led_by_two_leaders_gets_the_mean_once_both_have_scored(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    chen, zhao = account(session, ids["陈局"]), account(session, ids["赵局"])
    review.draft_scores(session, rules, "leader", chen, YEAR, "张三 4.5 李四 4", now=LATER)
    review.send_scores(session, rules, "leader", chen, YEAR, now=LATER)
    assert review.parts_of(session, YEAR, ids["张三"]) == {}  # 赵局 has not scored yet
    [zhang] = [m for m in review.missing_parts(session, rules, YEAR) if m.label.startswith("张三")]
    assert str(zhang) == "张三(执法监察科):缺述职、分管领导评分、班子综合评议(待赵局评分)"
    review.draft_scores(session, rules, "leader", zhao, YEAR, "张三 4\n李四 4.1", now=LATER)
    review.send_scores(session, rules, "leader", zhao, YEAR, now=LATER)
    assert review.parts_of(session, YEAR, ids["张三"]) == {"leader": Decimal("4.25")}
    assert review.parts_of(session, YEAR, ids["李四"]) == {"leader": Decimal("4.05")}


def test_a_leader_scores_only_the_staff_of_the_departments_they_lead(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    zhou = account(session, ids["周组长"])  # leads 法规科; the leading group: 局领导 too
    names = [r.person.name for r in review.sheet(session, rules, "leader", zhou, YEAR).rows]
    assert names == ["王五", "陈局", "周组长", "赵局"]
    with pytest.raises(InputError, match="张三:不在您的评分名单中"):
        review.draft_scores(session, rules, "leader", zhou, YEAR, "张三 4", now=LATER)
    staff = account(session, ids["冯科员"])
    with pytest.raises(PermissionDenied, match="分管领导评分由分管领导录入"):
        review.sheet(session, rules, "leader", staff, YEAR)


def test_wrong_scores_are_all_listed_and_none_is_kept(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    zhou = account(session, ids["周组长"])
    text = "王五 5.5 冯科员 4.55 张三 4 某某 3"
    with pytest.raises(InputError) as caught:
        review.draft_scores(session, rules, "group", zhou, YEAR, text, now=LATER)
    assert caught.value.message.splitlines()[1:] == [
        "  - 王五(法规科):5.5 超出范围(0 到 5)",
        "  - 冯科员(办公室):4.55 最多保留一位小数",
        "  - 某某:不在您的评分名单中",
    ]
    assert session.exec(select(ReviewDraft)).all() == []


def test_the_group_score_is_a_draft_until_sent_and_dropping_it_keeps_what_was_sent(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    zhou = account(session, ids["周组长"])
    s = review.draft_scores(session, rules, "group", zhou, YEAR, "王五 4.6", now=LATER)
    assert [(r.person.name, r.sent, r.draft) for r in s.rows if r.person.name == "王五"] == [
        ("王五", None, Decimal("4.6"))
    ]
    assert review.parts_of(session, YEAR, ids["王五"]) == {}
    assert review.send_scores(session, rules, "group", zhou, YEAR, now=LATER) == 1
    review.draft_scores(session, rules, "group", zhou, YEAR, "王五 3", now=LATER)
    assert review.drop_draft(session, "group", zhou, YEAR)
    assert review.parts_of(session, YEAR, ids["王五"]) == {"group": Decimal("4.6")}
    staff = account(session, ids["陈局"])
    with pytest.raises(PermissionDenied, match="班子综合评议由考核领导小组录入"):
        review.sheet(session, rules, "group", staff, YEAR)


# ------------------------------------------------------------------ the parts together
def test_all_three_parts_make_the_review_score_the_standings_and_finalize_read(
    session: Session, rules: Rules, ids: dict[str, int], tmp_path: Path
) -> None:
    open_2026(session, rules)
    for name, pid in ids.items():
        if name != "管理员甲":  # eight of nine vote
            ballot_of(session, rules, pid, {ids["王五"]: EXCELLENT} if name == "张三" else {})
    vote.close_vote(session, rules, YEAR, by="周组长(局领导)", now=LATER)
    zhou = account(session, ids["周组长"])
    review.draft_scores(session, rules, "leader", zhou, YEAR, "王五 4.5", now=LATER)
    review.send_scores(session, rules, "leader", zhou, YEAR, now=LATER)
    # the leading group's 班子评议 comes from a file with that column only
    sheet = tmp_path / "banzi.csv"
    names = [n for n in ids if n != "王五"]
    sheet.write_text("姓名,班子评议\n王五,4.8\n" + "".join(f"{n},5\n" for n in names), "utf-8")
    assert review.import_reviews(session, rules, sheet, year=YEAR, now=LATER, actor="周组长") == 9
    # 王五: 述职 (10 + 8 × 6) / 7 = 8.2857… → 8.29; 分管领导 4.5; 班子 4.8 → 17.59
    row = session.exec(select(ReviewScore).where(ReviewScore.person_id == ids["王五"])).one()
    assert json.loads(row.parts_json) == {"report": "8.29", "leader": "4.5", "group": "4.8"}
    [wang] = [
        s for s in compute_standings(session, rules, Period.parse("2026")) if s.name == "王五"
    ]
    assert wang.categories["review"].score == Decimal("17.59") and not wang.review_estimated
    with pytest.raises(Conflict) as caught:
        duties.finalize_year(session, rules, YEAR, by="周组长", now=LATER)
    lines = caught.value.message.splitlines()
    assert lines[0] == "2026年还有 8 人的述职测评分数未录入齐全,不能定案:"
    assert "  - 张三(执法监察科):缺分管领导评分(待陈局、赵局评分)" in lines
    assert session.get(YearLock, YEAR) is None


def test_finalize_goes_through_once_every_part_of_everyone_is_in(
    session: Session, rules: Rules, ids: dict[str, int], tmp_path: Path
) -> None:
    sheet = tmp_path / "reviews.csv"
    sheet.write_text("姓名,述职,分管领导评分\n" + "".join(f"{n},9,4\n" for n in ids), "utf-8")
    review.import_reviews(session, rules, sheet, year=YEAR, now=LATER, actor="周组长")
    assert session.exec(select(ReviewScore)).all() == []
    zhou = account(session, ids["周组长"])
    review.draft_scores(session, rules, "group", zhou, YEAR,
                        " ".join(f"{n} 5" for n in ids), now=LATER)  # fmt: skip
    review.send_scores(session, rules, "group", zhou, YEAR, now=LATER)
    assert {r.total_cp for r in session.exec(select(ReviewScore)).all()} == {1800}
    done = duties.finalize_year(session, rules, YEAR, by="周组长", now=LATER)
    assert not done.already


# ------------------------------------------------------------------ the verbs
NOW = datetime(2026, 12, 28, 9, 0, tzinfo=TZ)


@pytest.fixture
def uc(engine: Engine, rules: Rules, tmp_path: Path) -> Iterator[UseCases]:
    """The bureau above, everyone bound in Telegram (user id = 5000 + person id)."""
    with transaction(engine) as s:
        import_roster(s, write_roster(tmp_path, BUREAU), rules=load_rules(), now=NOW, actor="test")
        for p in s.exec(select(Person)).all():
            p.telegram_user_id = 5000 + (p.id or 0)
    yield UseCases(engine, rules)


def ev(uc: UseCases, name: str, key: str) -> Event:
    with uc.session() as s:
        pid = people(s)[name]
    return Event("tg", str(5000 + pid), f"tg:{key}", NOW)


def test_opening_the_vote_sends_each_person_a_ballot_and_tells_the_group(uc: UseCases) -> None:
    opened = uc.call(ev(uc, "周组长", "1"), review_uc.manage_vote, ["open", "2026", "2027-01-06"])
    assert opened.out[0].say.template == "vote_opened.html.j2"
    assert any(isinstance(o.to, Group) for o in opened.out)
    ballots = [o for o in opened.out if isinstance(o.to, Recipient)]
    assert len(ballots) == 9 and all(o.say.template == "ballot_page.html.j2" for o in ballots)
    first_row = ballots[0].say.actions[0]
    assert [a.label for a in first_row][1:] == ["优", "称", "基", "不"]
    refused = uc.call(ev(uc, "张三", "2"), review_uc.manage_vote, ["open", "2026"])
    assert refused.refusal is not None  # only the leading group opens a vote


def test_a_ballot_through_the_verbs_rates_changes_sums_up_and_submits(uc: UseCases) -> None:
    uc.call(ev(uc, "周组长", "1"), review_uc.manage_vote, ["open", "2026"])
    with uc.session() as s:
        ids = people(s)
    colleagues = [pid for name, pid in ids.items() if name != "李四"]
    for n, pid in enumerate(colleagues):
        page = uc.call(ev(uc, "李四", f"r{n}"), review_uc.rate, 2026, pid, COMPETENT, n // 5)
        assert page.out[0].to == EDIT
    changed = uc.call(ev(uc, "李四", "c"), review_uc.rate, 2026, ids["王五"], EXCELLENT, 0)
    assert "✓优" in [a.label for row in changed.out[0].say.actions for a in row]
    summed = uc.call(ev(uc, "李四", "s"), review_uc.summary, 2026)
    assert [a.label for a in summed.out[0].say.actions[0]] == ["提交选票", "返回修改"]
    assert summed.out[0].say.values["counts"] == (1, 7, 0, 0)
    done = uc.call(ev(uc, "李四", "k"), review_uc.submit, 2026)
    assert done.out[0].say.template == "ballot_submitted.html.j2"
    with pytest.raises(Conflict):
        uc.call(ev(uc, "李四", "k2"), review_uc.submit, 2026)
    with uc.session() as s:
        assert s.exec(select(ReviewDraft)).all() == []
        assert all("李四" not in a.detail for a in s.exec(select(Audit)).all() if a.at >= NOW)


def test_closing_short_asks_the_leading_group_then_tells_everyone_their_score(
    uc: UseCases,
) -> None:
    uc.call(ev(uc, "周组长", "1"), review_uc.manage_vote, ["open", "2026"])
    with uc.session() as s:
        ids = people(s)
    with transaction(uc.engine) as s:
        ballot_of(s, uc.rules, ids["张三"], {ids["王五"]: EXCELLENT})
    short = uc.call(ev(uc, "周组长", "2"), review_uc.manage_vote, ["close", "2026"])
    assert short.out[0].say.template == "vote_confirm.html.j2"
    assert [a.label for a in short.out[0].say.actions[0]] == ["仍按已投选票计分"]
    assert [o.say.template for o in short.out[1:]] == ["vote_short.html.j2"]
    counted = uc.call(ev(uc, "周组长", "3"), review_uc.confirm_count, 2026)
    assert counted.out[0].to == EDIT and counted.out[0].say.template == "vote_table.html.j2"
    group = [o for o in counted.out if isinstance(o.to, Group)]
    assert [o.say.values["distribution"] for o in group] == [(1, 7, 0, 0)]
    own = [o for o in counted.out if isinstance(o.to, Recipient)]
    # everyone 张三 rated (all but himself) hears their own score; no one else has one
    assert len(own) == 8
    assert {o.say.values["mean"] for o in own} == {Decimal("10"), Decimal("8")}
    with uc.session() as s:
        assert s.get(Vote, 2026).state == vote.COUNTED  # type: ignore[union-attr]


def test_a_vote_closing_itself_short_of_the_turnout_asks_the_leading_group_in_private(
    session: Session, rules: Rules, ids: dict[str, int]
) -> None:
    from usecases.duties import Planning, plan_vote_close

    zhou = account(session, ids["周组长"])
    open_2026(session, rules, closes_on=date(2027, 1, 6))
    ballot_of(session, rules, ids["张三"], {})
    [close] = [d for d in vote.vote_duties(session, OPENED) if d.kind == vote.CLOSE]
    plan = plan_vote_close(Planning(rules, TZ), session, close, close.due)
    assert session.get(Vote, YEAR).state == vote.CLOSED  # type: ignore[union-attr]
    assert [(p.name, p.say.template) for p in plan.parts] == [
        (f"confirm:{zhou.person_id}", "vote_confirm.html.j2"),
        ("group", "vote_short.html.j2"),
    ]
    again = plan_vote_close(Planning(rules, TZ), session, close, close.due)  # a retry
    assert [p.name for p in again.parts] == [p.name for p in plan.parts]


def test_a_close_sent_in_the_group_chat_shows_everyones_score_only_in_private(
    uc: UseCases,
) -> None:
    uc.call(ev(uc, "周组长", "1"), review_uc.manage_vote, ["open", "2026"])
    with uc.session() as s:
        ids = people(s)
    with transaction(uc.engine) as s:
        for name in ("张三", "李四", "冯科员", "李督查", "陈局", "周组长"):
            ballot_of(s, uc.rules, ids[name], {})
    in_group = Event("tg", str(5000 + ids["周组长"]), "tg:2", NOW, private=False)
    closed = uc.call(in_group, review_uc.manage_vote, ["close", "2026"])
    where = {o.say.template: o.to for o in closed.out if not isinstance(o.to, Recipient)}
    assert where == {"vote_table.html.j2": DIRECT, "vote_result.html.j2": Group()}
