"""The plan as data: pydantic models of the rules file, and loading it with every problem named."""

from __future__ import annotations

import os
import tomllib
from contextlib import suppress
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from scoring.errors import RulesError

Points = Annotated[Decimal, Field(ge=0, max_digits=6, decimal_places=2)]
RULES_ENV = "KAOHE_RULES_FILE"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(_Frozen):
    name: str


class ScoringPolicy(_Frozen):
    floor_at_zero: bool = True
    assume_review_base_until_entered: bool = True


class Category(_Frozen):
    code: str
    name: str
    short: str = ""
    base: Points
    department_chargeable: bool = False
    entered_at_year_end: bool = False


class ReviewPart(_Frozen):
    code: str
    name: str
    header: str
    max: Points


class TimeOfDay(_Frozen):
    hour: int = Field(ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class ScaleLevel(_Frozen):
    """A rating of the 民主评议 ballot (优秀 …) and the points it gives."""

    name: str = Field(min_length=1)
    short: str = Field(min_length=1, max_length=2)
    points: Points


def _fraction(value: object) -> Fraction:
    try:
        found = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is not a fraction such as 2/3") from None
    if not 0 <= found <= 1:
        raise ValueError("must be between 0 and 1")
    return found


class ReviewVote(_Frozen):
    """民主评议 in the chat: the part it fills, the scale, the turnout needed, the timing."""

    part: str
    scale: tuple[ScaleLevel, ...] = Field(min_length=2)
    min_turnout: Annotated[Fraction, BeforeValidator(_fraction), PlainSerializer(str)]
    page_size: int = Field(ge=1, le=8)
    remind_days_before: int = Field(ge=0)
    remind_at: TimeOfDay
    closes_at: TimeOfDay

    @field_validator("scale")
    @classmethod
    def _distinct(cls, scale: tuple[ScaleLevel, ...]) -> tuple[ScaleLevel, ...]:
        for attr in ("name", "short"):
            words = [getattr(level, attr) for level in scale]
            if len(set(words)) != len(words):
                raise ValueError(f"two levels share a {attr}")
        return scale


class ReviewScores(_Frozen):
    """Scores entered in the chat (分管领导评分, 班子综合评议): their part and their step."""

    part: str
    step: Annotated[Decimal, Field(gt=0, max_digits=4, decimal_places=2)]


class Review(_Frozen):
    category: str
    parts: tuple[ReviewPart, ...]
    mean_decimals: int = Field(ge=0, le=2)
    mean_rounding: Literal["half_up", "half_even", "down"]
    vote: ReviewVote
    leader: ReviewScores
    group: ReviewScores

    def part(self, code: str) -> ReviewPart:
        """The review part with this code."""
        for p in self.parts:
            if p.code == code:
                return p
        raise KeyError(code)


class Item(_Frozen):
    code: str
    category: str
    name: str
    points: Points
    unit: Literal["次", "天", "项", "篇", "年"]
    aliases: tuple[str, ...] = ()
    bearer: Literal["person", "duty"] = "person"
    leader_points: Points | None = None
    member_points: Points | None = None
    # deducted at most this many units a year (an item counted 年 is once a year)
    max_per_year: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _yearly_items_once(self) -> Item:
        if self.unit == "年" and self.max_per_year is None:
            object.__setattr__(self, "max_per_year", 1)
        return self

    @model_validator(mode="after")
    def _duty_points(self) -> Item:
        if self.bearer == "duty" and (self.leader_points is None or self.member_points is None):
            raise ValueError("a duty item needs leader_points and member_points")
        return self

    @property
    def words(self) -> tuple[str, ...]:
        """Every word an inspector may type for this item."""
        return (self.name, *self.aliases)


class Duty(_Frozen):
    leader_prefix: str
    member_prefix: str


class Counts(_Frozen):
    """How many units one finding may count: most items, and items that may count more."""

    max_per_finding: int = Field(default=10, ge=1)
    items: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)


class BonusKind(_Frozen):
    code: str
    name: str
    levels: dict[str, Points]
    department_wide: bool = False


class Bonus(_Frozen):
    cap: Points
    dedupe: Literal["highest_level"] = "highest_level"
    kinds: tuple[BonusKind, ...]


class GradeBand(_Frozen):
    name: str
    min_total: Points
    needs_quota: bool = False


class Grades(_Frozen):
    quota_ratio: Annotated[Decimal, Field(ge=0, le=1)]
    excellent: str
    bands: tuple[GradeBand, ...]
    # 科级干部: excellent ones are recommended to the district organisation department
    section_level_ranks: tuple[str, ...] = ("正科级", "副科级")
    # does a vetoed person (capped at 基本称职) still take a place of the 20% quota?
    vetoed_hold_quota_places: bool = True

    @field_validator("bands")
    @classmethod
    def _descending(cls, bands: tuple[GradeBand, ...]) -> tuple[GradeBand, ...]:
        mins = [b.min_total for b in bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("bands must go from best to worst with falling min_total")
        if not bands or bands[-1].min_total != 0:
            raise ValueError("the last band must start at 0")
        return bands

    def quota(self, headcount: int) -> int:
        """How many may be excellent: floor(quota_ratio × headcount)."""
        return int((self.quota_ratio * headcount).to_integral_value(rounding=ROUND_FLOOR))


class Veto(_Frozen):
    grade_cap: str
    reasons: tuple[str, ...] = ()


class Payout(_Frozen):
    reduced_factor: Annotated[Decimal, Field(gt=0, le=1)]
    reduced_grades: tuple[str, ...]


class Study(_Frozen):
    notes_chars_per_year: int = Field(ge=0)
    reflections_per_year: int = Field(ge=0)
    notes_short_item: str
    reflection_missing_item: str


class BotPolicy(_Frozen):
    invite_ttl_days: int = Field(default=7, ge=1)
    undo_minutes: int = Field(default=10, ge=0)


class MonthDay(_Frozen):
    day: int = Field(ge=1, le=28)
    hour: int = Field(ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class WorkingDayTime(_Frozen):
    working_day: int = Field(ge=1, le=10)
    hour: int = Field(ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class MonthsDay(MonthDay):
    months: tuple[Annotated[int, Field(ge=1, le=12)], ...] = Field(min_length=1)


class YearDay(MonthDay):
    month: int = Field(ge=1, le=12)


class Calendar(_Frozen):
    """When each duty falls (local time), the objection window, and the working days."""

    objection_window_working_days: int = Field(ge=0)
    annual_deadline_month: int = Field(ge=1, le=12)
    monthly_reminder: MonthDay
    spot_check_alert: WorkingDayTime
    quarterly_notice: MonthDay
    half_year_bulletin: MonthsDay
    year_end_proposals: YearDay
    review_reminder: MonthsDay
    # the office is told once, from this day of the year before, that a year's 调休 is unknown
    workdays_unknown_notice: YearDay = YearDay(month=12, day=1, hour=9)
    # Working days: the statutory holidays and 调休 of this country's calendar in the
    # `holidays` package ("" for Monday to Friday), then these days off and days worked
    # over it (a day the package gets wrong, a local holiday, a year not yet in the package).
    statutory: Literal["CN", ""] = "CN"
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _days_apart(self) -> Calendar:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(
                "holidays and workdays share " + ", ".join(d.isoformat() for d in both)
            )
        return self


class AttendanceColumn(_Frozen):
    """A column of an attendance export read as counts of a deduction item."""

    # the column's header as the export writes it (a unit in brackets after it is allowed)
    headers: tuple[str, ...] = Field(min_length=1)
    item: str


class Attendance(_Frozen):
    """Reading a monthly attendance export (钉钉 月度汇总, 企业微信 打卡月报)."""

    name_headers: tuple[str, ...] = Field(min_length=1)
    department_headers: tuple[str, ...] = ()
    columns: tuple[AttendanceColumn, ...] = Field(min_length=1)


class Rules(_Frozen):
    unit: Unit
    scoring: ScoringPolicy = ScoringPolicy()
    categories: tuple[Category, ...]
    review: Review
    items: tuple[Item, ...]
    duty: Duty
    counts: Counts = Counts()
    bonus: Bonus
    grades: Grades
    veto: Veto
    payout: Payout
    study: Study
    bot: BotPolicy = BotPolicy()
    calendar: Calendar
    attendance: Attendance | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> Rules:
        problems = cross_reference_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------ look-ups
    def category(self, code: str) -> Category:
        """The category with this code."""
        return self._categories[code]

    def item(self, code: str) -> Item:
        """The deduction item with this code."""
        return self._items[code]

    def max_count(self, item: Item) -> int:
        """The most units of this item one finding may count."""
        return self.counts.items.get(item.code, self.counts.max_per_finding)

    def item_name(self, code: str) -> str:
        """An item's name, or its code if this rules file no longer has it."""
        item = self._items.get(code)
        return item.name if item else code

    def bonus_kind(self, code: str) -> BonusKind:
        """The bonus kind with this code (award, article)."""
        for kind in self.bonus.kinds:
            if kind.code == code:
                return kind
        raise KeyError(code)

    @cached_property
    def _categories(self) -> dict[str, Category]:
        return {c.code: c for c in self.categories}

    @cached_property
    def _items(self) -> dict[str, Item]:
        return {i.code: i for i in self.items}

    @cached_property
    def words(self) -> dict[str, Item]:
        """Every word an inspector may type, to its item."""
        return {w: item for item in self.items for w in item.words}

    @property
    def deducted_categories(self) -> tuple[Category, ...]:
        """Categories that deductions draw from (all but the year-end review)."""
        return tuple(c for c in self.categories if not c.entered_at_year_end)


def _rows(node: object, key: str) -> list[dict[str, Any]]:
    """The tables under key (e.g. [[items]]), skipping anything that is not a table."""
    value = node.get(key) if isinstance(node, dict) else None
    if not isinstance(value, list | tuple):
        return []
    return [v for v in value if isinstance(v, dict)]


def _table(node: object, key: str) -> dict[str, Any]:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}


def cross_reference_problems(data: dict[str, Any]) -> list[str]:
    """Problems between sections (unknown category, a word naming two items, …).

    Read from the plain data, so they are listed even when other fields are wrong too.
    """
    problems: list[str] = []
    cats = [c.get("code") for c in _rows(data, "categories")]
    if len(set(cats)) != len(cats):
        problems.append("categories: duplicate category code")
    items = _rows(data, "items")
    codes = [i.get("code") for i in items]
    for dup in sorted({str(c) for c in codes if codes.count(c) > 1}):
        problems.append(f"items: duplicate item code {dup!r}")
    seen: dict[str, object] = {}
    for n, item in enumerate(items):
        code = item.get("code")
        if "category" in item and item["category"] not in cats:
            problems.append(f"items[{n}] ({code}): unknown category {item['category']!r}")
        aliases = item.get("aliases") or ()
        words = [item.get("name"), *(aliases if isinstance(aliases, list | tuple) else ())]
        for word in words:
            if not isinstance(word, str):
                continue
            other = seen.setdefault(word, code)
            if other != code:
                problems.append(f"items[{n}] ({code}): word {word!r} already names {other}")
    for code in _table(_table(data, "counts"), "items"):
        if code not in codes:
            problems.append(f"counts.items: unknown item {code!r}")
    review = _table(data, "review")
    if "category" in review:
        if review["category"] not in cats:
            problems.append(f"review.category: unknown category {review['category']!r}")
        else:
            base = next(
                c.get("base")
                for c in _rows(data, "categories")
                if c.get("code") == review["category"]
            )
            try:
                maxima = sum(
                    (Decimal(str(p.get("max"))) for p in _rows(review, "parts")), Decimal(0)
                )
                if maxima != Decimal(str(base)):
                    problems.append("review.parts: the maxima must add up to the category base")
            except (ArithmeticError, ValueError):
                pass  # a malformed number is reported at its own place
    problems += _review_source_problems(review)
    grades = _table(data, "grades")
    bands = {b.get("name") for b in _rows(grades, "bands")}
    if "excellent" in grades and grades["excellent"] not in bands:
        problems.append(f"grades.excellent: {grades['excellent']!r} is not a band")
    veto = _table(data, "veto")
    if "grade_cap" in veto and veto["grade_cap"] not in bands:
        problems.append(f"veto.grade_cap: {veto['grade_cap']!r} is not a band")
    reduced = _table(data, "payout").get("reduced_grades")
    for g in reduced if isinstance(reduced, list | tuple) else ():
        if g not in bands:
            problems.append(f"payout.reduced_grades: {g!r} is not a band")
    study = _table(data, "study")
    for field in ("notes_short_item", "reflection_missing_item"):
        if field in study and study[field] not in codes:
            problems.append(f"study.{field}: unknown item {study[field]!r}")
    problems += _attendance_problems(data, items)
    return problems


def _attendance_problems(data: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    """Attendance columns name person-borne items counted in 次 or 天."""
    problems: list[str] = []
    by_code = {i.get("code"): i for i in items}
    for n, column in enumerate(_rows(_table(data, "attendance"), "columns")):
        if "item" not in column:
            continue  # reported at its place
        code = column["item"]
        item = by_code.get(code)
        if item is None:
            problems.append(f"attendance.columns[{n}]: unknown item {code!r}")
        elif item.get("bearer", "person") != "person" or item.get("unit") not in ("次", "天"):
            problems.append(
                f"attendance.columns[{n}]: {code} is not counted per person in 次 or 天"
            )
    return problems


def _review_source_problems(review: dict[str, Any]) -> list[str]:
    """The vote and the chat's scores each fill a distinct review part, within its maximum."""
    problems: list[str] = []
    maxima: dict[str, Decimal] = {}
    for p in _rows(review, "parts"):
        with suppress(ArithmeticError):  # a malformed number is reported at its own place
            maxima[str(p.get("code"))] = Decimal(str(p.get("max")))
    filled: list[str] = []
    for source in ("vote", "leader", "group"):
        part = _table(review, source).get("part")
        if part is None:
            continue
        if part not in maxima:
            problems.append(f"review.{source}.part: unknown review part {part!r}")
        elif part in filled:
            problems.append(f"review.{source}.part: {part!r} is already filled by another source")
        filled.append(part)
    top = maxima.get(str(_table(review, "vote").get("part")))
    for n, level in enumerate(_rows(_table(review, "vote"), "scale")):
        try:
            over = top is not None and Decimal(str(level.get("points"))) > top
        except ArithmeticError:
            continue
        if over:
            problems.append(f"review.vote.scale[{n}]: points above the part's maximum {top}")
    return problems


def _format_loc(loc: tuple[int | str, ...], data: dict[str, object]) -> str:
    """A place in the file, e.g. items[3] (daily_late).points."""
    out = ""
    node: object = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and "code" in node:
                    out += f" ({node['code']})"
            continue
        out += ("." if out else "") + str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out or "(file)"


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    """Read a rules file's text; raise RulesError listing every problem with its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(source, [f"TOML: {exc}"]) from None
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        # field problems at their places, then the cross-references (the model-level check
        # is skipped by pydantic when a field is wrong, so they are read from the data)
        problems = [
            f"{_format_loc(tuple(e['loc']), data)}: {e['msg']}" for e in exc.errors() if e["loc"]
        ]
        problems += cross_reference_problems(data)
        raise RulesError(source, problems or [str(exc)]) from None


def default_rules_text() -> str:
    """The bundled rules file (the bureau's plan)."""
    return resources.files("scoring").joinpath("rulesdata/default.toml").read_text("utf-8")


def load_rules(path: str | os.PathLike[str] | None = None) -> Rules:
    """The rules in force: the file given, else KAOHE_RULES_FILE, else the bundled plan."""
    chosen = path or os.environ.get(RULES_ENV)
    if chosen:
        p = Path(chosen)
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise RulesError(str(p), [f"cannot read: {exc.strerror}"]) from None
        return parse_rules(text, str(p))
    return parse_rules(default_rules_text(), "default.toml")
