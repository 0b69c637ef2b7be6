"""The use cases called directly, as every messenger calls them: one transaction per event,
a redelivered event records nothing twice, the same person is the same whichever messenger
they write from, and a refusal or an error leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, select

from scoring.db import transaction
from scoring.errors import PermissionDenied
from scoring.models import Entry, PendingAction, Person, ProcessedEvent
from scoring.roster import import_roster
from scoring.rules import Rules
from templates.views import Views
from tests.harness import ROSTER, TZ, write_roster
from tests.offline import OfflineBureau
from usecases import findings, people
from usecases.core import Event, UseCases
from usecases.messages import EDIT, Result
from usecases.messages import Person as Recipient

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
INSPECTOR, STAFF = "1002", "1001"  # 李督查, 冯科员 on Telegram (harness ids)
BOUND = {"冯科员": 1001, "李督查": 1002, "张三": 1003, "管理员甲": 1008}


@pytest.fixture
def uc(engine: Engine, rules: Rules, tmp_path: Path) -> Iterator[UseCases]:
    """The use cases over a fresh database with the harness's bureau, bound in Telegram."""
    with transaction(engine) as s:
        import_roster(s, write_roster(tmp_path, ROSTER), rules=rules, now=NOW, actor="test")
        for p in s.exec(select(Person)).all():
            p.telegram_user_id = {
                "冯科员": 1001,
                "李督查": 1002,
                "张三": 1003,
                "管理员甲": 1008,
            }.get(p.name)
            s.add(p)
    yield UseCases(engine, rules)


def ev(user: str, key: str, messenger: str = "tg") -> Event:
    return Event(messenger, user, f"{messenger}:{key}", NOW)


def count(uc: UseCases, table: type) -> int:
    with uc.session() as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def card_of(result: Result) -> int:
    (action, _cancel) = result.out[0].say.actions[0]
    return int(action.args[0])


def test_a_finding_card_records_nothing_until_confirmed(uc: UseCases) -> None:
    result = uc.call(ev(INSPECTOR, "1"), findings.record_finding, "冯科员 迟到")
    assert result.out[0].say.template == "finding_confirm.html.j2"
    assert [a.label for a in result.out[0].say.actions[0]] == ["确认", "取消"]
    assert count(uc, Entry) == 0


def test_confirming_records_once_and_a_redelivered_confirm_records_nothing(uc: UseCases) -> None:
    card = card_of(uc.call(ev(INSPECTOR, "1"), findings.record_finding, "冯科员 迟到"))
    done = uc.call(ev(INSPECTOR, "2"), findings.confirm_finding, card)
    assert done.out[-1].to == EDIT  # 已记录 shows once the notices are out
    [to] = [o.to for o in done.out if isinstance(o.to, Recipient)]
    assert to.addresses == (("tg", "1001"),)
    [notice] = [o for o in done.out if o.to == to]
    assert [a.label for row in notice.say.actions for a in row] == ["申诉"]
    again = uc.call(ev(INSPECTOR, "2"), findings.confirm_finding, card)
    assert again.duplicate and again.out == []
    assert count(uc, Entry) == 1


def test_a_confirm_pressed_again_after_a_crash_tells_again_only_those_not_surely_told(
    uc: UseCases,
) -> None:
    card = card_of(uc.call(ev(INSPECTOR, "1"), findings.record_finding, "冯科员 迟到"))
    uc.call(ev(INSPECTOR, "2"), findings.confirm_finding, card)  # the bot died delivering it
    again = uc.call(ev(INSPECTOR, "3"), findings.confirm_finding, card)
    assert [o.to for o in again.out][-1] == EDIT
    assert [o.say.template for o in again.out] == [
        "finding_notice.html.j2",
        "finding_recorded.html.j2",
    ]
    assert again.delivered is not None
    uc.within(again.delivered)  # this time everything went out
    third = uc.call(ev(INSPECTOR, "4"), findings.confirm_finding, card)
    assert [o.say.template for o in third.out] == ["finding_recorded.html.j2"]
    assert count(uc, Entry) == 1


def test_someone_not_bound_is_named_on_the_card_and_told_once_they_have_bound(
    uc: UseCases,
) -> None:
    card = card_of(uc.call(ev(INSPECTOR, "1"), findings.record_finding, "王五 迟到"))
    done = uc.call(ev(INSPECTOR, "2"), findings.confirm_finding, card)
    assert [o.to for o in done.out] == [EDIT]  # no notice: 王五 has no account
    assert done.delivered is None  # noted in the confirm itself: nothing to note after
    shown = Views().say(done.out[0].say)
    assert "王五(法规科) 尚未绑定机器人,未能通知本人,请另行告知。" in shown
    assert "已通知本人" not in shown
    again = uc.call(ev(INSPECTOR, "3"), findings.confirm_finding, card)
    assert [o.to for o in again.out] == [EDIT] and again.delivered is None
    with uc.session() as s:  # 王五 binds the bot
        wang = s.exec(select(Person).where(Person.name == "王五")).one()
        wang.telegram_user_id = 1005
        s.add(wang)
        s.commit()
    bound = uc.call(ev(INSPECTOR, "4"), findings.confirm_finding, card)
    [notice] = [o for o in bound.out if isinstance(o.to, Recipient)]
    assert isinstance(notice.to, Recipient) and notice.to.addresses == (("tg", "1005"),)
    assert notice.say.template == "finding_notice.html.j2"
    assert bound.delivered is not None
    uc.within(bound.delivered)  # the notice went out
    last = uc.call(ev(INSPECTOR, "5"), findings.confirm_finding, card)
    assert [o.to for o in last.out] == [EDIT]
    assert "已通知本人" in Views().say(last.out[0].say)
    assert count(uc, Entry) == 1


def test_a_cancel_pressed_again_shows_the_card_cancelled(uc: UseCases) -> None:
    card = card_of(uc.call(ev(INSPECTOR, "1"), findings.record_finding, "冯科员 迟到"))
    for update in ("2", "3"):
        result = uc.call(ev(INSPECTOR, update), findings.cancel_finding, card)
        assert [o.say.template for o in result.out] == ["finding_cancelled.html.j2"]
    assert count(uc, Entry) == 0


def test_a_domain_error_leaves_the_event_unrecorded_so_it_can_be_tried_again(
    uc: UseCases,
) -> None:
    card = card_of(uc.call(ev(INSPECTOR, "1"), findings.record_finding, "冯科员 迟到"))
    with pytest.raises(PermissionDenied, match="只有记录人本人"):
        uc.call(ev("1008", "9"), findings.confirm_finding, card)  # the admin is not its recorder
    with uc.session() as s:
        assert s.get(ProcessedEvent, "tg:9") is None
    assert count(uc, Entry) == 0


def test_an_unbound_sender_is_refused_and_nothing_is_written(uc: UseCases) -> None:
    result = uc.call(ev("4242", "1"), findings.record_finding, "冯科员 迟到")
    assert result.refusal is not None and result.refusal.template == "unbound.html.j2"
    assert count(uc, PendingAction) == 0 and count(uc, Entry) == 0


def test_a_person_bound_in_dingtalk_has_the_same_permissions_and_gets_notices_in_both(
    uc: UseCases,
) -> None:
    with uc.session() as s:
        code_owner = s.exec(select(Person).where(Person.name == "李督查")).one()
        staff = s.exec(select(Person).where(Person.name == "冯科员")).one()
        code_owner.dingtalk_user_id, staff.dingtalk_user_id = "dt-li", "dt-feng"
        s.add(code_owner)
        s.add(staff)
        s.commit()
    card = card_of(uc.call(ev("dt-li", "m1", "dt"), findings.record_finding, "冯科员 迟到"))
    done = uc.call(ev("dt-li", "m2", "dt"), findings.confirm_finding, card)
    [to] = [o.to for o in done.out if isinstance(o.to, Recipient)]
    assert to.addresses == (("tg", "1001"), ("dt", "dt-feng"))
    refused = uc.call(ev("dt-feng", "m3", "dt"), findings.record_finding, "张三 迟到")
    assert refused.refusal is not None and refused.refusal.template == "not_allowed.html.j2"


def test_binding_in_dingtalk_keeps_the_telegram_binding(uc: UseCases, engine: Engine) -> None:
    from datetime import timedelta

    from scoring.accounts import create_invite

    with transaction(engine) as s:
        code, _ = create_invite(s, "张三", now=NOW, ttl=timedelta(days=7), actor="test")
    bound = uc.call(ev("dt-zhang", "m1", "dt"), people.start, code)
    assert bound.out[0].say.template == "bound.html.j2"
    with uc.session() as s:
        zhang = s.exec(select(Person).where(Person.name == "张三")).one()
        assert (zhang.telegram_user_id, zhang.dingtalk_user_id) == (1003, "dt-zhang")


def test_a_failed_suggestion_leaves_its_card_open(uc: UseCases) -> None:
    hint = uc.call(ev(INSPECTOR, "1"), findings.record_finding, "冯课员 迟倒")
    rows = hint.out[0].say.actions
    assert rows, "the parser suggested a name"
    card_id, choice = (int(x) for x in rows[0][0].args)
    picked = uc.call(ev(INSPECTOR, "2"), findings.pick_suggestion, card_id, choice)
    assert picked.out[0].say.template == "finding_error.html.j2"  # the item is still wrong
    with uc.session() as s:
        card = s.get(PendingAction, card_id)
        assert card is not None and card.state == "pending"


# ------------------------------------------------------------------ through the real bot
class Transactions:
    """Counts the database transactions begun on an engine."""

    def __init__(self, engine: Engine) -> None:
        self.n = 0
        self.engine = engine
        event.listen(engine, "begin", self._begun)

    def _begun(self, _conn: object) -> None:
        self.n += 1

    def take(self) -> int:
        n, self.n = self.n, 0
        return n


async def test_the_finding_flow_costs_one_transaction_per_update(bureau: OfflineBureau) -> None:
    counted = Transactions(bureau.svc.engine)  # in process: no duty ticks meanwhile
    card = await bureau.say("李督查", "冯科员 迟到")
    assert counted.take() <= 2, "text → card"
    await bureau.press("李督查", card, "确认")
    notice = bureau.told("冯科员")
    assert "扣分通知" in (notice.text or "")
    assert counted.take() <= 2, "确认 → entry and notice"
    with Session(bureau.svc.engine) as s:
        assert len(s.exec(select(Entry)).all()) == 1
