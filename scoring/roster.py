"""The roster: looking people up for the parser, and importing it from a file."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlmodel import Session, SQLModel, col, select

from scoring.directory import Directory, directory
from scoring.errors import InputError
from scoring.models import Audit, Department, Person, PersonLeads
from scoring.parser import RosterPerson, hidden_character, name_problem
from scoring.rules import Rules
from scoring.tables import read_table, split_cell

ROLES = ("干部职工", "督查员", "分管领导", "考核领导小组", "管理员")
STAFF_TYPES = ("公务员", "事业人员")
# optional 状态 column: someone who has left (离岗) is no longer assessed; their history stays
STATUSES = ("在岗", "离岗")
ROSTER_HEADERS = ["姓名", "科室", "职务", "人员类别", "角色", "分管科室"]
MEMBER_ROLE = "科室共同承担"
LEADER_ROLE = "分管领导"


def _width(model: type[SQLModel], field: str) -> int:
    """A text column's max_length, as the model declares it."""
    for meta in model.model_fields[field].metadata:
        if isinstance(getattr(meta, "max_length", None), int):
            return int(meta.max_length)
    raise LookupError(f"{model.__name__}.{field} has no max_length")


# the longest text each column may hold (each 科室 of 分管科室 as 科室)
LIMITS = {
    "姓名": _width(Person, "name"),
    "科室": _width(Department, "name"),
    "职务": _width(Person, "position"),
    "人员类别": _width(Person, "staff_type"),
    "角色": _width(Person, "roles"),
    "职级": _width(Person, "rank"),
    "状态": 8,
}


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


def confusable_key(text: str) -> str:
    """What a name looks like: width, case, spaces and invisible characters ignored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and not hidden_character(ch))


@dataclass(frozen=True)
class _OnRecord:
    """What the database already holds, to compare the file with."""

    departments: set[str]
    people: set[tuple[str, str]]

    @classmethod
    def read(cls, session: Session) -> _OnRecord:
        rows = session.exec(
            select(Person.name, Department.name).join(
                Department, col(Department.id) == col(Person.department_id)
            )
        ).all()
        return cls(set(session.exec(select(Department.name)).all()), {(n, d) for n, d in rows})


def _normalised(cells: dict[str, str]) -> dict[str, str]:
    """Every cell as NFKC reads it (full-width letters, digits, spaces, brackets), trimmed."""
    return {h: unicodedata.normalize("NFKC", v).strip() for h, v in cells.items()}


def _cell_problems(
    cells: dict[str, str], rules: Rules, departments: set[str], spelled: dict[str, str]
) -> dict[str, str]:
    """Each column's first problem: too long, hidden characters, a name nobody can write.

    ``spelled`` maps each 科室's confusable key to its first spelling (and learns new ones).
    """
    found: dict[str, str] = {}
    for column, limit in LIMITS.items():
        value = cells.get(column, "")
        if len(value) > limit:
            found[column] = f"太长(最多{limit}字)"
        elif hidden := hidden_character(value):
            found[column] = hidden
    name, dept = cells.get("姓名", ""), cells.get("科室", "")
    if not name:
        found.setdefault("姓名", "不能为空")
    elif why := name_problem(name, rules):
        found.setdefault("姓名", why)
    elif name in departments:
        found.setdefault("姓名", f"“{name}”与科室同名,督查员写出来无法区分")
    if not dept:
        found.setdefault("科室", "不能为空")
    elif why := name_problem(dept, rules):
        found.setdefault("科室", why)
    elif (other := spelled.setdefault(confusable_key(dept), dept)) != dept:
        found.setdefault("科室", f"“{dept}”与“{other}”难以区分(只差大小写、全半角或空格)")
    return found


def _validate_rows(
    rows: list[tuple[int, dict[str, str]]], on_record: _OnRecord, rules: Rules
) -> list[RosterRow]:
    problems: list[str] = []
    out: list[RosterRow] = []
    seen: dict[tuple[str, str], int] = {}
    rows = [(line, _normalised(cells)) for line, cells in rows]
    depts_in_file = {cells.get("科室", "") for _, cells in rows} | on_record.departments
    spelled = {confusable_key(d): d for d in sorted(on_record.departments)}
    people = {(confusable_key(n), confusable_key(d)): f"{n}({d})" for n, d in on_record.people}
    for line, cells in rows:
        found = _cell_problems(cells, rules, depts_in_file, spelled)
        name, dept = cells.get("姓名", ""), cells.get("科室", "")
        problems += [f"第{line}行 {column}:{why}" for column, why in found.items()]
        staff = cells.get("人员类别", "") or STAFF_TYPES[0]
        if "人员类别" not in found and staff not in STAFF_TYPES:
            problems.append(f"第{line}行 人员类别:“{staff}”应为 {'或'.join(STAFF_TYPES)}")
        roles = tuple(split_cell(cells.get("角色", ""))) or (ROLES[0],)
        for role in roles if "角色" not in found else ():
            if role not in ROLES:
                problems.append(f"第{line}行 角色:“{role}”不是 {'、'.join(ROLES)} 之一")
        leads = tuple(split_cell(cells.get("分管科室", "")))
        for d in leads:
            if len(d) > LIMITS["科室"]:
                problems.append(f"第{line}行 分管科室:太长(最多{LIMITS['科室']}字)")
            elif why := name_problem(d, rules):
                problems.append(f"第{line}行 分管科室:“{d}”{why}")
            elif d not in depts_in_file:
                problems.append(f"第{line}行 分管科室:“{d}”不在花名册的科室中")
        if leads and "分管领导" not in roles:
            problems.append(f"第{line}行 分管科室:填写了分管科室,角色中应有“分管领导”")
        key = (confusable_key(name), confusable_key(dept))
        if not found and key in seen:
            problems.append(f"第{line}行 姓名:{name}({dept})与第{seen[key]}行重复")
        elif not found and (name, dept) not in on_record.people and key in people:
            problems.append(
                f"第{line}行 姓名:“{name}”与花名册中的“{people[key]}”难以区分"
                "(只差大小写、全半角或空格)"
            )
        seen.setdefault(key, line)
        status = cells.get("状态", "") or STATUSES[0]
        if "状态" not in found and status not in STATUSES:
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


def import_roster(
    session: Session, path: Path, *, rules: Rules, now: datetime, actor: str
) -> RosterImportResult:
    """Check the whole file, then add or update people by (name, department); drop no one.

    Every cell is normalised (NFKC, trimmed); a name or 科室 an inspector could not write
    (see ``parser.name_problem``) or that only looks like one on record is refused.
    """
    table = read_table(path, ROSTER_HEADERS)
    if not table:
        raise InputError(f"{path.name} 没有人员数据")
    depts = {d.name: d for d in session.exec(select(Department)).all()}
    rows = _validate_rows(table, _OnRecord.read(session), rules)
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
