"""The roster: looking people up for the parser, and importing it from a file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlmodel import Session, col, select

from scoring.directory import Directory, directory
from scoring.errors import InputError
from scoring.models import Audit, Department, Person, PersonLeads
from scoring.parser import RosterPerson
from scoring.tables import read_table, split_cell

ROLES = ("干部职工", "督查员", "分管领导", "考核领导小组", "管理员")
STAFF_TYPES = ("公务员", "事业人员")
# optional 状态 column: someone who has left (离岗) is no longer assessed; their history stays
STATUSES = ("在岗", "离岗")
ROSTER_HEADERS = ["姓名", "科室", "职务", "人员类别", "角色", "分管科室"]
MEMBER_ROLE = "科室共同承担"
LEADER_ROLE = "分管领导"


class DbRoster:
    """The parser's Roster over the database, answered from the in-memory directory of the
    roster (``scoring.directory``: read once per version of the roster)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @cached_property
    def _dir(self) -> Directory:
        return directory(self.session)

    def people_named(self, name: str) -> list[RosterPerson]:
        """Active people with exactly this name."""
        return list(self._dir.named.get(name, ()))

    def department_named(self, name: str) -> str | None:
        """The department with exactly this name, or None."""
        return name if name in self._dir.departments else None

    def department_bearers(self, department: str) -> list[tuple[RosterPerson, str]]:
        """Members (科室共同承担) and leaders in charge (分管领导) of a department."""
        dept = self._dir.departments.get(department)
        if dept is None:
            return []
        out = [(p, MEMBER_ROLE) for p in self._dir.staff.get(dept, ())]
        out += [(p, LEADER_ROLE) for p in self._dir.leaders.get(dept, ())]
        return out

    def all_labels(self) -> list[tuple[str, str]]:
        """Every (name, label) and (department, label), for suggestions."""
        return self._dir.labels


@dataclass(frozen=True)
class RosterRow:
    """One validated roster row."""

    line: int
    name: str
    department: str
    position: str
    staff_type: str
    roles: tuple[str, ...]
    leads: tuple[str, ...]
    rank: str
    active: bool = True


@dataclass(frozen=True)
class RosterImportResult:
    """What an import did."""

    added: int
    updated: int
    departments_added: int
    # people still in post in the database but not in this file (e.g. moved to another 科室)
    not_in_file: tuple[str, ...] = ()


def _validate_rows(
    rows: list[tuple[int, dict[str, str]]], known_depts: set[str]
) -> list[RosterRow]:
    problems: list[str] = []
    out: list[RosterRow] = []
    seen: dict[tuple[str, str], int] = {}
    depts_in_file = {cells.get("科室", "") for _, cells in rows} | known_depts
    for line, cells in rows:
        name, dept = cells.get("姓名", ""), cells.get("科室", "")
        if not name:
            problems.append(f"第{line}行 姓名:不能为空")
        elif len(name) > 32:
            problems.append(f"第{line}行 姓名:太长(最多32字)")
        if not dept:
            problems.append(f"第{line}行 科室:不能为空")
        staff = cells.get("人员类别", "") or STAFF_TYPES[0]
        if staff not in STAFF_TYPES:
            problems.append(f"第{line}行 人员类别:“{staff}”应为 {'或'.join(STAFF_TYPES)}")
        roles = tuple(split_cell(cells.get("角色", ""))) or (ROLES[0],)
        for role in roles:
            if role not in ROLES:
                problems.append(f"第{line}行 角色:“{role}”不是 {'、'.join(ROLES)} 之一")
        leads = tuple(split_cell(cells.get("分管科室", "")))
        for d in leads:
            if d not in depts_in_file:
                problems.append(f"第{line}行 分管科室:“{d}”不在花名册的科室中")
        if leads and "分管领导" not in roles:
            problems.append(f"第{line}行 分管科室:填写了分管科室,角色中应有“分管领导”")
        key = (name, dept)
        if name and dept and key in seen:
            problems.append(f"第{line}行 姓名:{name}({dept})与第{seen[key]}行重复")
        seen.setdefault(key, line)
        status = cells.get("状态", "") or STATUSES[0]
        if status not in STATUSES:
            problems.append(f"第{line}行 状态:“{status}”应为 {'或'.join(STATUSES)}")
        out.append(
            RosterRow(
                line,
                name,
                dept,
                cells.get("职务", ""),
                staff,
                roles,
                leads,
                cells.get("职级", ""),
                active=status == STATUSES[0],
            )
        )
    if problems:
        raise InputError("花名册有错误,未导入任何内容:\n" + "\n".join(f"  - {p}" for p in problems))
    return out


def import_roster(session: Session, path: Path, *, now: datetime, actor: str) -> RosterImportResult:
    """Check the whole file, then add or update people by (name, department); drop no one."""
    table = read_table(path, ROSTER_HEADERS)
    if not table:
        raise InputError(f"{path.name} 没有人员数据")
    depts = {d.name: d for d in session.exec(select(Department)).all()}
    rows = _validate_rows(table, set(depts))
    new_depts = 0
    for row in rows:
        for name in (row.department, *row.leads):
            if name not in depts:
                dept = Department(name=name)
                session.add(dept)
                session.flush()
                depts[name] = dept
                new_depts += 1
    added = updated = 0
    for row in rows:
        dept_id = depts[row.department].id
        assert dept_id is not None
        person = session.exec(
            select(Person).where(Person.name == row.name, Person.department_id == dept_id)
        ).first()
        if person is None:
            person = Person(name=row.name, department_id=dept_id, created_at=now)
            added += 1
        else:
            updated += 1
        person.position = row.position
        person.staff_type = row.staff_type
        person.roles = ",".join(row.roles)
        person.rank = row.rank
        if person.active and not row.active:
            person.left_on = now.date()
        elif row.active:
            person.left_on = None
        person.active = row.active
        session.add(person)
        session.flush()
        for link in session.exec(select(PersonLeads).where(PersonLeads.person_id == person.id)):
            session.delete(link)
        session.flush()
        for d in row.leads:
            dept_led = depts[d].id
            assert person.id is not None and dept_led is not None
            session.add(PersonLeads(person_id=person.id, department_id=dept_led))
    in_file = {(row.name, depts[row.department].id) for row in rows}
    not_in_file = tuple(
        f"{name}({dept})"
        for pid, name, dept_id, dept in session.exec(
            select(Person.id, Person.name, Person.department_id, Department.name)
            .join(Department, col(Department.id) == col(Person.department_id))
            .where(col(Person.active).is_(True))
            .order_by(Department.name, Person.name)
        ).all()
        if (name, dept_id) not in in_file
    )
    session.add(
        Audit(
            at=now,
            actor=actor,
            action="roster_import",
            detail=json.dumps(
                {"file": path.name, "added": added, "updated": updated}, ensure_ascii=False
            ),
        )
    )
    return RosterImportResult(added, updated, new_depts, not_in_file)
