"""Every reply fits one message at district scale: /score with 7,577 entries shows the latest
and pages the rest; /standings and /dept of 5,000 people come a page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from handlers.sending import TEXT_LIMIT, split_message, utf16_len
from scoring.db import transaction
from scoring.models import Department, Entry, Person, PersonLeads
from scoring.roster import import_roster
from scoring.rules import Rules
from templates.views import Views, plain
from tests.harness import ROSTER, TZ, Bureau, write_roster
from usecases import leaders, people
from usecases.core import Event, UseCases
from usecases.messages import EDIT, REPLY, Action, Result, Say
from usecases.paging import PAGE_LINES

MANY = 7_577  # the most entries one person had in the district data set
PEOPLE = 5_000
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)


def add_entries(session: Session, person_id: int, n: int, year: int) -> None:
    """n deductions of a person, through the session (as every write goes)."""
    start, at = date(year, 1, 1), datetime(year, 1, 1, tzinfo=UTC)
    rows = [
        {
            "kind": "deduction", "person_id": person_id, "category": "daily",
            "item_code": "daily_late", "count": 1, "points_cp": 50,
            "fact_date": start + timedelta(days=i * 360 // n), "recorded_by": "李督查(办公室)",
            "recorded_at": at, "source": "bot", "finding": "迟到", "batch": f"b{i}",
            "role": "本人", "evidence": "", "note": "", "bonus_kind": "", "bonus_level": "",
            "bonus_key": "", "reason": "",
        }
        for i in range(n)
    ]  # fmt: skip
    session.execute(insert(Entry), rows)


def fits(views: Views, message: Say) -> str:
    """The message's text, asserting it goes out as one message."""
    text = views.say(message)
    assert utf16_len(text) <= TEXT_LIMIT and len(split_message(text)) == 1
    return text


def labels(message: Say) -> dict[str, Action]:
    return {a.label: a for row in message.actions for a in row}


@pytest.fixture
def district(engine: Engine, rules: Rules) -> Iterator[UseCases]:
    """5,000 people in 200 departments; a leading-group member and a leader bound; the
    leader leads three departments."""
    now = datetime(2025, 12, 20, tzinfo=UTC)
    with transaction(engine) as s:
        s.execute(insert(Department), [{"id": d, "name": f"科室{d:03d}"} for d in range(1, 201)])
        s.execute(
            insert(Person),
            [
                {"id": i, "name": f"职工{i:04d}", "department_id": i % 200 + 1, "position": "",
                 "staff_type": "公务员", "rank": "", "roles": "干部职工", "active": True,
                 "created_at": now}
                for i in range(1, PEOPLE + 1)
            ],
        )  # fmt: skip
        group, leader = s.get(Person, 1), s.get(Person, 2)
        assert group is not None and leader is not None
        group.roles, group.telegram_user_id = "考核领导小组", 11
        leader.roles, leader.telegram_user_id = "分管领导", 12
        s.add_all([group, leader])
        s.add_all(PersonLeads(person_id=2, department_id=d) for d in (5, 6, 7))
        add_entries(s, 3, 40, 2026)
    yield UseCases(engine, rules)


def turn(uc: UseCases, user: str, result: Result, key: str) -> Iterator[Say]:
    """Every page of a paged table: the first, then each 下一页 pressed in turn."""
    views = Views()
    message = result.out[0].say
    n = 0
    while True:
        fits(views, message)
        yield message
        after = labels(message).get("下一页 ›")
        if after is None:
            return
        n += 1
        fn = leaders.standings_page if after.verb == leaders.STANDINGS_PAGE else leaders.dept_page
        period, page = after.args
        turned = uc.call(Event("tg", user, f"tg:{key}{n}", NOW), fn, period, int(page))
        assert [o.to for o in turned.out] == [EDIT]
        message = turned.out[0].say


def names_on(views: Views, page: Say) -> list[str]:
    return [line.split()[2] for line in plain(views.say(page)).splitlines() if line[0].isdigit()]


def test_standings_of_5000_people_come_a_page_at_a_time_and_every_one_is_on_a_page(
    district: UseCases,
) -> None:
    first = district.call(Event("tg", "11", "tg:1", NOW), leaders.standings, ["2026"])
    assert [o.to for o in first.out] == [REPLY]
    views = Views()
    pages = list(turn(district, "11", first, "s"))
    assert len(pages) == -(-PEOPLE // PAGE_LINES)
    seen = [name for page in pages for name in names_on(views, page)]
    assert len(seen) == len(set(seen)) == PEOPLE
    assert seen[-1] == "职工0003"  # the one with deductions is last
    last = labels(pages[-1])
    assert "« 首页" in last and "下一页 ›" not in last


def test_dept_pages_hold_only_the_led_departments(district: UseCases) -> None:
    first = district.call(Event("tg", "12", "tg:1", NOW), leaders.dept, ["2026"])
    views = Views()
    pages = list(turn(district, "12", first, "d"))
    seen = [name for page in pages for name in names_on(views, page)]
    assert len(seen) == 3 * PEOPLE // 200 and len(pages) == -(-len(seen) // PAGE_LINES)
    with Session(district.engine) as s:
        led = {
            p.name
            for p in s.exec(select(Person).where(Person.department_id.in_([5, 6, 7])))  # type: ignore[attr-defined]
        }
    assert set(seen) == led


async def test_score_with_7577_entries_fits_and_every_entry_is_a_press_away(
    live_bureau: Bureau,
) -> None:
    bureau = live_bureau
    year = bureau.svc.now().year
    with transaction(bureau.svc.engine) as s:
        feng = s.exec(select(Person).where(Person.name == "冯科员")).one()
        assert feng.id is not None
        add_entries(s, feng.id, MANY, year)
    mark = bureau.mark()
    answer = await bureau.say("冯科员", "/score")
    replies = [c for c in await bureau.after(mark) if c.chat_id == bureau.users["冯科员"]]
    assert [c.method for c in replies] == ["sendMessage"]  # one message, nothing refused
    assert f"最近 20 条,共 {MANY} 条" in (answer.text or "")
    page = await bureau.press("冯科员", answer, "全部明细")
    assert page.method == "sendMessage"
    assert f"共 {MANY} 条,第 1/{-(-MANY // PAGE_LINES)} 页" in (page.text or "")
    last = await bureau.press("冯科员", page, "末页 »")
    assert last.method == "editMessageText"
    assert last.params["message_id"] == page.result["message_id"]
    text = last.text or ""
    assert f"第 {-(-MANY // PAGE_LINES)}/{-(-MANY // PAGE_LINES)} 页" in text
    assert len([line for line in text.splitlines() if " #" in line]) == MANY % PAGE_LINES


def test_score_pages_cover_every_entry_once(engine: Engine, rules: Rules, tmp_path: Path) -> None:
    with transaction(engine) as s:
        import_roster(s, write_roster(tmp_path, ROSTER), rules=rules, now=NOW, actor="test")
        feng = s.exec(select(Person).where(Person.name == "冯科员")).one()
        feng.telegram_user_id = 1001
        s.add(feng)
        assert feng.id is not None
        add_entries(s, feng.id, MANY, 2026)
    uc, views = UseCases(engine, rules), Views()
    score = uc.call(Event("tg", "1001", "tg:0", NOW), people.score)
    text = views.say(score.out[0].say)
    assert len([line for line in text.splitlines() if " #" in line]) == 20
    action = labels(score.out[0].say)["全部明细"]
    result = uc.call(Event("tg", "1001", "tg:1", NOW), people.score_entries,
                     int(action.args[0]), 1, turn=False)  # fmt: skip
    assert [o.to for o in result.out] == [REPLY]
    ids: list[str] = []
    n = 1
    while True:
        page = result.out[0].say
        ids += [line.rsplit("#", 1)[1] for line in fits(views, page).splitlines() if " #" in line]
        after = labels(page).get("下一页 ›")
        if after is None:
            break
        n += 1
        result = uc.call(Event("tg", "1001", f"tg:{n}", NOW), people.score_entries,
                         int(after.args[0]), int(after.args[1]))  # fmt: skip
        assert [o.to for o in result.out] == [EDIT]
    assert len(ids) == len(set(ids)) == MANY
    assert n == -(-MANY // PAGE_LINES)


def test_a_list_of_one_page_has_no_page_actions_and_a_long_one_turns_both_ways() -> None:
    from usecases.paging import page_actions, page_of

    assert page_actions("v", (), page_of(PAGE_LINES, 1)) == []
    [row] = page_actions("v", ("2026",), page_of(10 * PAGE_LINES, 5))
    assert [(a.label, a.args) for a in row] == [
        ("« 首页", ("2026", "1")),
        ("‹ 上一页", ("2026", "4")),
        ("下一页 ›", ("2026", "6")),
        ("末页 »", ("2026", "10")),
    ]
    assert page_of(10, 99).number == 1  # a page past the end is the last
