"""Who is who in the messenger: binding codes, accounts, roles and who leads whom."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from scoring.errors import Conflict, InputError, NotFound
from scoring.ledger import audit
from scoring.models import Department, Invite, Person, PersonLeads
from scoring.parser import resolve_person
from scoring.roster import DbRoster

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
STAFF, INSPECTOR, LEADER, GROUP, ADMIN = "干部职工", "督查员", "分管领导", "考核领导小组", "管理员"


@dataclass(frozen=True)
class Account:
    """A bound person as handlers need them."""

    person_id: int
    name: str
    department: str
    department_id: int
    roles: frozenset[str]
    telegram_user_id: int
    leads: frozenset[int]

    @property
    def label(self) -> str:
        """Name with department."""
        return f"{self.name}({self.department})"

    def has(self, *roles: str) -> bool:
        """Whether the person holds any of these roles."""
        return bool(self.roles.intersection(roles))


def _account(session: Session, person: Person) -> Account:
    dept = session.get(Department, person.department_id)
    assert dept is not None and person.id is not None and person.telegram_user_id is not None
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
    )


def account_for(session: Session, telegram_user_id: int) -> Account | None:
    """The active person bound to this Telegram account, or None."""
    person = session.exec(
        select(Person).where(
            Person.telegram_user_id == telegram_user_id, col(Person.active).is_(True)
        )
    ).first()
    return _account(session, person) if person else None


def account_of_person(session: Session, person_id: int) -> Account | None:
    """The account of a roster person, if they have bound Telegram."""
    person = session.get(Person, person_id)
    if person is None or person.telegram_user_id is None or not person.active:
        return None
    return _account(session, person)


def create_invite(
    session: Session, name: str, *, now: datetime, ttl: timedelta, actor: str
) -> tuple[str, str]:
    """A fresh single-use code for a roster person; returns (code, person label)."""
    person = resolve_person(name, DbRoster(session))
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    session.add(Invite(code=code, person_id=person.id, created_at=now, expires_at=now + ttl))
    audit(session, now=now, actor=actor, action="invite", person=person.id)
    return code, person.label


def bind(session: Session, code: str, *, telegram_user_id: int, now: datetime) -> Account:
    """Use a binding code: the Telegram account becomes the code's roster person."""
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
    taken = session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id)).first()
    if taken is not None and taken.id != invite.person_id:
        raise Conflict(f"您的账号已绑定为 {taken.name},如需更换请联系管理员解绑")
    claimed = session.execute(
        update(Invite)
        .where(col(Invite.code) == invite.code, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by=telegram_user_id)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("这个绑定码已经用过了,请向办公室重新申请")
    person = session.get(Person, invite.person_id)
    assert person is not None
    person.telegram_user_id = telegram_user_id
    session.add(person)
    session.flush()
    audit(session, now=now, actor=person.name, action="bind", person=person.id)
    return _account(session, person)


def unbind(session: Session, name: str, *, now: datetime, actor: str) -> str:
    """Remove a person's Telegram binding; returns their label."""
    person_ref = resolve_person(name, DbRoster(session))
    person = session.get(Person, person_ref.id)
    assert person is not None
    if person.telegram_user_id is None:
        raise InputError(f"{person_ref.label} 尚未绑定")
    person.telegram_user_id = None
    session.add(person)
    audit(session, now=now, actor=actor, action="unbind", person=person.id)
    return person_ref.label


def accounts_with_role(session: Session, role: str) -> list[Account]:
    """Bound people holding a role (e.g. the leading group)."""
    people = session.exec(
        select(Person).where(
            col(Person.telegram_user_id).is_not(None),
            col(Person.active).is_(True),
            col(Person.roles).contains(role),
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
            col(Person.telegram_user_id).is_not(None),
            col(Person.active).is_(True),
        )
    ).all()
    return [_account(session, p) for p in people]
