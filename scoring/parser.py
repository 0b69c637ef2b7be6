"""The finding parser, shared by the CLI and the bot: "张三、李四 早退" → who bears what.

Grammar (whitespace separates the people from the item; 、,;/ separate people):

    TARGETS ITEM[COUNT]            张三 迟到 · 王五 旷工2天 · 张三、李四 早退两次
    TARGETS ITEM COUNT             张三 迟到 3次
    NAME(科室) ITEM                 张三(办公室) 迟到        (two people share a name)
    科室 ITEM                       执法监察科 未制定季度执法计划 (borne jointly)
    带班:NAME 值班:NAMES ITEM       带班:张三 值班:李四、王五 信息不灵 (duty incident)

Nothing here touches the database: people are looked up through a ``Roster``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from scoring.errors import AmbiguousPerson, ParseError, Suggestion, UnknownItem, UnknownPerson
from scoring.numerals import NUMERAL_CHARS, lookalike_digit, parse_count
from scoring.rules import Item, Rules

UNITS = "次天项篇个回年"
# what separates people in a finding, and what else the parser reads as structure
SEPARATORS = "、,，;；/"
ROLE_MARK = ":"
BRACKETS = "()[]【】"
_SEPARATORS = re.compile(f"[{SEPARATORS}]+")
_QUALIFIED = re.compile(r"^(?P<name>[^()]+)\((?P<dept>[^()]+)\)$")
_COUNT = re.compile(rf"^(?P<n>[0-9]+|[{NUMERAL_CHARS}]+)(?P<unit>[{UNITS}])?$")
_ITEM_COUNT = re.compile(rf"^(?P<word>.+?)(?P<n>[0-9]+|[{NUMERAL_CHARS}]+)(?P<unit>[{UNITS}])?$")
_SAME_UNIT = {"次": "次回个", "项": "项个次", "篇": "篇个", "天": "天", "年": "年次"}


@dataclass(frozen=True)
class RosterPerson:
    """One person as the parser needs them."""

    id: int
    name: str
    department: str

    @property
    def label(self) -> str:
        """Name with department: 张三(办公室)."""
        return f"{self.name}({self.department})"


class Roster(Protocol):
    """Who is on the roster, looked up by name (a database or an in-memory list)."""

    def people_named(self, name: str) -> list[RosterPerson]:
        """Active people with exactly this name."""
        ...

    def department_named(self, name: str) -> str | None:
        """The department with exactly this name, or None."""
        ...

    def department_bearers(self, department: str) -> list[tuple[RosterPerson, str]]:
        """Who bears a department charge: members and leaders in charge, with their role."""
        ...

    def all_labels(self) -> list[tuple[str, str]]:
        """Every (name, label) and (department, label) for suggestions."""
        ...


@dataclass(frozen=True)
class Charge:
    """One person bearing points of a finding."""

    person: RosterPerson
    points: Decimal
    role: str


@dataclass(frozen=True)
class Finding:
    """A parsed finding: the item, the count, and everyone who bears it."""

    text: str
    item: Item
    count: int
    charges: tuple[Charge, ...]
    department: str | None = None

    @property
    def total_points(self) -> Decimal:
        """All points deducted by this finding, across people."""
        return sum((c.points for c in self.charges), Decimal(0))


def hidden_character(text: str) -> str:
    """Why the text cannot be told apart from what it looks like ('' if it can).

    A control character, or an invisible one (zero-width space, a direction mark): a second
    “张三\u200b” would look exactly like 张三.
    """
    for ch in text:
        kind = unicodedata.category(ch)
        if kind == "Cc":
            return "含有控制字符"
        if kind in ("Cf", "Co", "Cs", "Cn"):
            return "含有不可见字符(如零宽字符),看起来与别的名字一样"
    return ""


def name_problem(name: str, rules: Rules) -> str:
    """Why an inspector could not write this roster name (a person or a 科室), '' if they can.

    The name is already normalised (NFKC, trimmed).
    """
    if hidden := hidden_character(name):
        return hidden
    if any(ch.isspace() for ch in name):
        return "含有空格,督查员写出来会被拆成两段"
    for ch in SEPARATORS + ROLE_MARK:
        if ch in name:
            return f"含有“{ch}”,督查员写出来会被当作分隔符"
    if any(ch in BRACKETS for ch in name):
        return "含有括号,会被当作“姓名(科室)”的写法"
    if name in rules.words:
        return f"是扣分项目“{rules.words[name].name}”的写法"
    for prefix in (rules.duty.leader_prefix, rules.duty.member_prefix):
        if name.startswith(prefix):
            return f"以“{prefix}”开头,会被当作值班失误的写法"
    return ""


def normalize(text: str) -> str:
    """Full-width to half-width, collapsed spaces, Chinese brackets and colons unified."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    return " ".join(text.split())


def parse_finding(text: str, *, rules: Rules, roster: Roster) -> Finding:
    """Read an inspector's message; raise a ParseError (with suggestions) on anything unclear."""
    if odd := lookalike_digit(text):  # before NFKC reads ² as 2
        raise ParseError(f"“{odd}”不是 0-9 的数字;次数请用 0-9 或汉字数字,例如:张三 迟到2次")
    clean = normalize(text)
    if not clean:
        raise ParseError("请发送“姓名 扣分项”,例如:张三 迟到")
    tokens = clean.split(" ")
    count, unit = 1, None
    if len(tokens) > 2 and (m := _COUNT.match(tokens[-1])):
        count, unit = _read_count(m.group("n")), m.group("unit")
        tokens = tokens[:-1]
    if len(tokens) == 1:
        tokens = _split_glued(tokens[0], rules, roster)
    if len(tokens) < 2:
        raise ParseError(f"没看懂“{clean}”。请写成“姓名 扣分项”,例如:张三 迟到")
    item, item_count, item_unit = _read_item(tokens[-1], rules)
    if item_count is not None:
        if count != 1:
            raise ParseError("次数写了两遍,请只写一次,例如:张三 迟到2次")
        count, unit = item_count, item_unit
    _check_count(item, count, unit, rules)
    targets = _read_targets(" ".join(tokens[:-1]), rules)
    if item.bearer == "duty":
        charges = _duty_charges(item, count, targets, rules, roster)
        return Finding(clean, item, count, charges)
    if any(role for role, _ in targets):
        raise ParseError(
            f"“{rules.duty.leader_prefix}/{rules.duty.member_prefix}”只用于值班失误,"
            f"“{item.name}”请直接写姓名"
        )
    return _personal_or_department(clean, item, count, [t for _, t in targets], rules, roster)


def _read_count(raw: str) -> int:
    n = parse_count(raw)
    if n is None or n < 1:
        raise ParseError(f"次数“{raw}”不对,请写 1 或更大的数")
    return n


def _check_count(item: Item, count: int, unit: str | None, rules: Rules) -> None:
    if unit and unit not in _SAME_UNIT.get(item.unit, item.unit):
        raise ParseError(f"“{item.name}”按{item.unit}计,请写成“{item.words[-1]}{count}{item.unit}”")
    if item.unit == "年" and count != 1:
        raise ParseError(f"“{item.name}”每年只扣一次")
    maximum = rules.max_count(item)
    if count > maximum:
        raise ParseError(
            f"“{item.name}”一条记录最多 {maximum} {item.unit},收到 {count} {item.unit};"
            "请核对次数,确有更多请分条记录"
        )


def _read_item(token: str, rules: Rules) -> tuple[Item, int | None, str | None]:
    if token in rules.words:
        return rules.words[token], None, None
    m = _ITEM_COUNT.match(token)
    if m and m.group("word") in rules.words:
        return rules.words[m.group("word")], _read_count(m.group("n")), m.group("unit")
    word = m.group("word") if m else token
    raise UnknownItem(word, suggest_items(word, rules))


def suggest_items(word: str, rules: Rules, limit: int = 3) -> list[Suggestion]:
    """The items closest to what was typed."""
    from rapidfuzz import fuzz, process  # only when something was mistyped

    found = process.extract(word, list(rules.words), scorer=fuzz.WRatio, limit=limit * 4)
    out: list[Suggestion] = []
    seen: set[str] = set()
    for choice, score, _ in found:
        item = rules.words[choice]
        if score < 45 or item.code in seen:
            continue
        seen.add(item.code)
        out.append(Suggestion(choice, f"{choice}({item.points}分/{item.unit})"))
        if len(out) == limit:
            break
    return out


def _split_glued(token: str, rules: Rules, roster: Roster) -> list[str]:
    """'张三迟到' → ['张三', '迟到'] when the tail is an item word and the head a name."""
    for i in range(1, len(token)):
        head, tail = token[:i], token[i:]
        if (tail in rules.words or _ITEM_COUNT.match(tail)) and (
            roster.people_named(head) or roster.department_named(head)
        ):
            return [head, tail]
    return [token]


def _read_targets(text: str, rules: Rules) -> list[tuple[str, str]]:
    """[(role prefix or '', name spec)], the role carried over to names after it."""
    out: list[tuple[str, str]] = []
    role = ""
    prefixes = (rules.duty.leader_prefix, rules.duty.member_prefix)
    for chunk in text.split(" "):
        for raw in _SEPARATORS.split(chunk):
            spec = raw.strip()
            for prefix in prefixes:
                if spec.startswith(prefix) and (
                    spec[len(prefix) :].startswith(":") or len(spec) > len(prefix)
                ):
                    role, spec = prefix, spec[len(prefix) :].lstrip(":").strip()
                    break
            if spec:
                out.append((role, spec))
    if not out:
        raise ParseError("请写明被扣分的人,例如:张三 迟到")
    return out


def resolve_person(spec: str, roster: Roster) -> RosterPerson:
    """One roster person from '张三' or '张三(办公室)'; never a silent guess."""
    m = _QUALIFIED.match(spec)
    name, dept = (m.group("name").strip(), m.group("dept").strip()) if m else (spec, None)
    people = roster.people_named(name)
    if dept is not None:
        people = [p for p in people if p.department == dept]
    if len(people) == 1:
        return people[0]
    if len(people) > 1:
        raise AmbiguousPerson(name, [Suggestion(p.label, p.label) for p in people])
    raise UnknownPerson(spec, suggest_people(spec, roster))


def suggest_people(spec: str, roster: Roster, limit: int = 3) -> list[Suggestion]:
    """The roster names closest to what was typed, by characters and by pinyin."""
    from pypinyin import lazy_pinyin  # 50 MB of dictionaries: loaded at the first misspelling
    from rapidfuzz import fuzz

    labels = roster.all_labels()
    if not labels:
        return []
    typed = "".join(lazy_pinyin(spec)).lower()
    scores: dict[str, float] = {}
    for name, label in labels:
        by_chars = fuzz.ratio(spec, name)
        by_sound = fuzz.ratio(typed, "".join(lazy_pinyin(name)).lower())
        scores[label] = max(by_chars, by_sound)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [Suggestion(label, label) for label, score in best if score >= 60]


def _personal_or_department(
    text: str, item: Item, count: int, specs: list[str], rules: Rules, roster: Roster
) -> Finding:
    charges: dict[int, Charge] = {}
    department = None
    points = item.points * count
    for spec in specs:
        dept = roster.department_named(spec) if not roster.people_named(spec) else None
        if dept is not None:
            if not rules.category(item.category).department_chargeable:
                raise ParseError(
                    f"“{item.name}”属于{rules.category(item.category).name},只能记到个人,请写姓名"
                )
            bearers = roster.department_bearers(dept)
            if not bearers:
                raise ParseError(f"{dept}没有在岗人员,无法共同承担")
            department = dept
            for person, role in bearers:
                charges.setdefault(person.id, Charge(person, points, role))
            continue
        person = resolve_person(spec, roster)
        if person.id in charges and charges[person.id].role == "本人":
            raise ParseError(f"{person.name}写了两次")
        charges[person.id] = Charge(person, points, "本人")
    return Finding(text, item, count, tuple(charges.values()), department)


def _duty_charges(
    item: Item, count: int, targets: list[tuple[str, str]], rules: Rules, roster: Roster
) -> tuple[Charge, ...]:
    leader, member = rules.duty.leader_prefix, rules.duty.member_prefix
    example = f"{leader}:张三 {member}:李四、王五 {item.words[-1]}"
    if not any(role == leader for role, _ in targets) or any(not role for role, _ in targets):
        raise ParseError(f"“{item.name}”请写明{leader}领导和{member}人员,例如:{example}")
    assert item.leader_points is not None and item.member_points is not None
    charges: dict[int, Charge] = {}
    for role, spec in targets:
        person = resolve_person(spec, roster)
        if person.id in charges:
            raise ParseError(f"{person.name}写了两次")
        pts = item.leader_points if role == leader else item.member_points
        charges[person.id] = Charge(
            person, pts * count, f"{role}{'领导' if role == leader else '组员'}"
        )
    return tuple(charges.values())


def apply_suggestion(text: str, wrong: str, right: str, *, item: bool) -> str:
    """The finding with one person or item replaced by the suggestion the user picked."""
    tokens = normalize(text).split(" ")
    if item:
        for i in range(len(tokens) - 1, -1, -1):
            if tokens[i].startswith(wrong):
                tokens[i] = right + tokens[i][len(wrong) :]
                return " ".join(tokens)
        return text
    parts = re.split(r"([、,，;；/: ])", " ".join(tokens))
    for i, part in enumerate(parts):
        if part == wrong:
            parts[i] = right
            break
    return "".join(parts)
