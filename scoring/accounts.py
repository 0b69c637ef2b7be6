"""Who is who in the messenger: binding codes, accounts, roles and who leads whom."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from scoring.directory import Member, directory
from scoring.errors import Conflict, InputError, NotFound
from scoring.ledger import audit
from scoring.models import Department, Invite, Person, PersonLeads
from scoring.parser import resolve_person
from scoring.roster import DbRoster

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TELEGRAM, DINGTALK = "tg", "dt"  # the messengers a person may bind, as event keys spell them
MESSENGERS = (TELEGRAM, DINGTALK)
STAFF, INSPECTOR, LEADER, GROUP, ADMIN = "干部职工", "督查员", "分管领导", "考核领导小组", "管理员"


@dataclass(frozen=True)
class Account:
    """A bound person as handlers need them."""

    person_id: int
    name: str
    department: str
    department_id: int
    roles: frozenset[str]
    telegram_user_id: int | None
    leads: frozenset[int]
    dingtalk_user_id: str | None = None

    @property
    def label(self) -> str:
        """Name with department."""
        return f"{self.name}({self.department})"

    def has(self, *roles: str) -> bool:
        """Whether the person holds any of these roles."""
        return bool(self.roles.intersection(roles))

    @property
    def addresses(self) -> tuple[tuple[str, str], ...]:
        """Every bound messenger account, as (messenger, user id)."""
        out: list[tuple[str, str]] = []
        if self.telegram_user_id is not None:
            out.append((TELEGRAM, str(self.telegram_user_id)))
        if self.dingtalk_user_id is not None:
            out.append((DINGTALK, self.dingtalk_user_id))
        return tuple(out)


def _account(session: Session, person: Person) -> Account:
    dept = session.get(Department, person.department_id)
    assert dept is not None and person.id is not None
    leads = session.exec(
        select(PersonLeads.department_id).where(PersonLeads.person_id == person.id)
    ).all()
    return Account(
        person_id=person.id,
        name=person.name,
        department=dept.name,
        department_id=person.department_id,
        roles=frozenset(r for r in person.roles.split(",") if r),
        telegram_user_id=person.telegram_user_id,
        leads=frozenset(leads),
        dingtalk_user_id=person.dingtalk_user_id,
    )


def _user_column(messenger: str) -> Any:
    """The Person column holding a messenger's user id."""
    if messenger == TELEGRAM:
        return col(Person.telegram_user_id)
    if messenger == DINGTALK:
        return col(Person.dingtalk_user_id)
    raise ValueError(f"unknown messenger {messenger!r}")


def _user_value(messenger: str, user_id: str | int) -> str | int | None:
    """A user id as its column stores it (Telegram's are integers); None if malformed."""
    if messenger != TELEGRAM:
        return str(user_id)
    text = str(user_id)
    return int(text) if text.lstrip("-").isdecimal() else None


def _is_bound() -> Any:
    return or_(col(Person.telegram_user_id).is_not(None), col(Person.dingtalk_user_id).is_not(None))


def _member_account(member: Member) -> Account:
    return Account(
        person_id=member.id,
        name=member.name,
        department=member.department,
        department_id=member.department_id,
        roles=member.roles,
        telegram_user_id=member.telegram_user_id,
        leads=member.leads,
        dingtalk_user_id=member.dingtalk_user_id,
    )


def account_for(session: Session, messenger: str, user_id: str | int) -> Account | None:
    """The active person bound to this messenger account, or None (from the directory)."""
    value = _user_value(messenger, user_id)
    if value is None:
        return None
    found = directory(session)
    if messenger == TELEGRAM:
        member = found.by_telegram.get(int(value))
    elif messenger == DINGTALK:
        member = found.by_dingtalk.get(str(value))
    else:
        raise ValueError(f"unknown messenger {messenger!r}")
    return _member_account(member) if member else None


def account_of_person(session: Session, person_id: int) -> Account | None:
    """The account of a roster person, if they have bound a messenger."""
    member = directory(session).members.get(person_id)
    if member is None or (member.telegram_user_id is None and member.dingtalk_user_id is None):
        return None
    return _member_account(member)


def create_invite(
    session: Session, name: str, *, now: datetime, ttl: timedelta, actor: str
) -> tuple[str, str]:
    """A fresh single-use code for a roster person; returns (code, person label)."""
    person = resolve_person(name, DbRoster(session))
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    session.add(Invite(code=code, person_id=person.id, created_at=now, expires_at=now + ttl))
    audit(session, now=now, actor=actor, action="invite", person=person.id)
    return code, person.label


def bind(
    session: Session, code: str, *, messenger: str, user_id: str | int, now: datetime
) -> Account:
    """Use a binding code: the messenger account becomes the code's roster person."""
    invite = session.get(Invite, code.strip().upper())
    if invite is None:
        raise NotFound("绑定码不对,请核对后重新发送 /start 绑定码,或向办公室重新申请")
    if invite.used_at is not None:
        raise Conflict("这个绑定码已经用过了,请向办公室重新申请")
    expires = invite.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=now.tzinfo)
    if expires < now:
        raise Conflict("这个绑定码已过期,请向办公室重新申请")
    value = _user_value(messenger, user_id)
    column = _user_column(messenger)
    taken = session.exec(select(Person).where(column == value)).first()
    if taken is not None and taken.id != invite.person_id:
        raise Conflict(f"您的账号已绑定为 {taken.name},如需更换请联系管理员解绑")
    claimed = session.execute(
        update(Invite)
        .where(col(Invite.code) == invite.code, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by=f"{messenger}:{user_id}")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("这个绑定码已经用过了,请向办公室重新申请")
    person = session.get(Person, invite.person_id)
    assert person is not None
    setattr(person, column.key, value)
    session.add(person)
    session.flush()
    audit(session, now=now, actor=person.name, action="bind", person=person.id, messenger=messenger)
    return _account(session, person)


def unbind(
    session: Session, name: str, *, now: datetime, actor: str, messenger: str | None = None
) -> str:
    """Remove a person's messenger binding (one messenger's, or all); returns their label."""
    person_ref = resolve_person(name, DbRoster(session))
    person = session.get(Person, person_ref.id)
    assert person is not None
    names = [messenger] if messenger else list(MESSENGERS)
    columns = [_user_column(m).key for m in names if getattr(person, _user_column(m).key)]
    if not columns:
        raise InputError(f"{person_ref.label} 尚未绑定")
    for column in columns:
        setattr(person, column, None)
    session.add(person)
    audit(session, now=now, actor=actor, action="unbind", person=person.id)
    return person_ref.label


def accounts_with_role(session: Session, role: str) -> list[Account]:
    """Bound people holding a role (e.g. the leading group)."""
    people = session.exec(
        select(Person).where(
            _is_bound(), col(Person.active).is_(True), col(Person.roles).contains(role)
        )
    ).all()
    return [_account(session, p) for p in people]


def leaders_of(session: Session, department_id: int) -> list[Account]:
    """Bound leaders in charge (分管领导) of a department."""
    people = session.exec(
        select(Person)
        .join(PersonLeads, col(PersonLeads.person_id) == col(Person.id))
        .where(
            PersonLeads.department_id == department_id,
            _is_bound(),
            col(Person.active).is_(True),
        )
    ).all()
    return [_account(session, p) for p in people]


def bound_accounts(session: Session, *roles: str) -> list[Account]:
    """Bound, active people (holding any of the roles, if some are given), in roster order."""
    people = session.exec(
        select(Person).where(_is_bound(), col(Person.active).is_(True)).order_by(col(Person.id))
    ).all()
    accounts = [_account(session, p) for p in people]
    return [a for a in accounts if not roles or a.has(*roles)]


def addresses_of(session: Session, person_ids: list[int]) -> dict[int, tuple[tuple[str, str], ...]]:
    """Each active person's bound messenger accounts, as (messenger, user id)."""
    members = directory(session).members
    out: dict[int, tuple[tuple[str, str], ...]] = {}
    for pid in person_ids:
        member = members.get(pid)
        if member is None:
            continue
        tg = member.telegram_user_id
        pairs = [(TELEGRAM, str(tg))] if tg is not None else []
        if member.dingtalk_user_id is not None:
            pairs.append((DINGTALK, member.dingtalk_user_id))
        out[pid] = tuple(pairs)
    return out
