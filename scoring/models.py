"""The ledger's tables. Entries are append-only: a mistake is undone by a revoking entry.

Points are stored as integer hundredths (``*_cp`` columns) so that sums in SQL are exact
on every database; ``points.py`` converts them to and from Decimal at the edge.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

import scoring.versions  # noqa: F401  (its session events version every write to these tables)


class Department(SQLModel, table=True):
    """A 科室."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)


class Person(SQLModel, table=True):
    """Someone assessed (and/or acting): one roster row."""

    __table_args__ = (UniqueConstraint("name", "department_id", name="uq_person_name_dept"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=32)
    department_id: int = Field(foreign_key="department.id", index=True)
    position: str = Field(default="", max_length=64)
    staff_type: str = Field(default="公务员", max_length=16)
    rank: str = Field(default="", max_length=16)
    roles: str = Field(default="干部职工", max_length=128)
    active: bool = Field(default=True)
    # the day they were marked 离岗: not assessed for periods ending after it
    left_on: date | None = None
    telegram_user_id: int | None = Field(default=None, unique=True, index=True)
    # the 钉钉 userId (staffId) of the bound DingTalk account
    dingtalk_user_id: str | None = Field(default=None, unique=True, index=True, max_length=64)
    created_at: datetime


class PersonLeads(SQLModel, table=True):
    """A 分管领导 leads (分管) a department."""

    __tablename__ = "person_leads"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    department_id: int = Field(foreign_key="department.id", primary_key=True)


class Entry(SQLModel, table=True):
    """One line of the ledger: a deduction, a bonus, or the revocation of one of them."""

    __table_args__ = (
        Index("ix_entry_period", "kind", "fact_date", "person_id", "category", "points_cp"),
        # a person's own lines in order, counted and paged from the index alone
        Index("ix_entry_person_kind", "person_id", "fact_date", "id", "kind"),
        # the few revoking entries, found without reading the whole ledger
        Index(
            "ix_entry_revocation",
            "revokes_id",
            sqlite_where=text("revokes_id IS NOT NULL"),
            postgresql_where=text("revokes_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # deduction | bonus | revocation
    person_id: int | None = Field(default=None, foreign_key="person.id")
    category: str = Field(default="", max_length=32)
    item_code: str = Field(default="", max_length=64)
    count: int = Field(default=1)
    points_cp: int = Field(default=0)
    fact_date: date
    recorded_by: str = Field(default="", max_length=64)
    recorded_at: datetime
    source: str = Field(default="cli", max_length=16)
    finding: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    batch: str = Field(default="", max_length=40, index=True)
    role: str = Field(default="", max_length=32)  # 本人 / 科室共同承担 / 分管领导 / 带班领导 …
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # the evidence kept locally: "<sha256>.<ext>" in the evidence folder ("" for none)
    evidence_file: str = Field(default="", max_length=80)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    bonus_kind: str = Field(default="", max_length=16)
    bonus_level: str = Field(default="", max_length=16)
    bonus_key: str = Field(default="", max_length=200)
    revokes_id: int | None = Field(default=None, foreign_key="entry.id", unique=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ReviewScore(SQLModel, table=True):
    """Year-end 述职测评 parts of one person (hundredths)."""

    __tablename__ = "review_score"
    __table_args__ = (UniqueConstraint("person_id", "year", name="uq_review_person_year"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    year: int
    parts_json: str = Field(sa_column=Column(Text, nullable=False))
    total_cp: int
    entered_at: datetime
    entered_by: str = Field(default="", max_length=64)


class VetoRecord(SQLModel, table=True):
    """一票否决 of one person for a year, with its reason."""

    __tablename__ = "veto"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    year: int = Field(index=True)
    fact_date: date
    reason: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(default="", max_length=64)
    recorded_at: datetime
    # a revoking row points at the veto it takes back (nothing is deleted)
    revokes_id: int | None = Field(default=None, foreign_key="veto.id", unique=True)


class SpotCheck(SQLModel, table=True):
    """A discipline spot check the office carried out (even one that found nothing)."""

    __tablename__ = "spot_check"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    inspector_id: int | None = Field(default=None, foreign_key="person.id")
    inspector: str = Field(default="", max_length=64)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_at: datetime


class Audit(SQLModel, table=True):
    """Who did what, when: every change to the ledger and the roster."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(default="", max_length=64)
    action: str = Field(max_length=32)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class StudySubmission(SQLModel, table=True):
    """Study notes (characters) or a reflection (心得) handed in."""

    __tablename__ = "study_submission"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=16)  # notes | reflection
    chars: int = Field(default=0)
    fact_date: date
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence_file: str = Field(default="", max_length=80)  # as Entry.evidence_file
    recorded_at: datetime


class Invite(SQLModel, table=True):
    """A one-time code that binds a messenger account to a roster entry."""

    code: str = Field(primary_key=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    # who used it, as "<messenger>:<user id>" ("tg:1003", "dt:manager4220")
    used_by: str | None = Field(default=None, max_length=80)


class ProcessedEvent(SQLModel, table=True):
    """An incoming event already handled ("tg:<update_id>", "dt:<msgId>"), stored in the
    transaction of what it recorded."""

    __tablename__ = "processed_event"

    key: str = Field(primary_key=True, max_length=128)
    processed_at: datetime


class PendingAction(SQLModel, table=True):
    """A card awaiting a button: a finding to confirm, a claim, an appeal, a proposal."""

    __tablename__ = "pending_action"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    state: str = Field(default="pending", max_length=16, index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    chat_id: int | None = None
    message_id: int | None = None
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    result: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: int | None = None


class DutyRun(SQLModel, table=True):
    """A calendar duty done, by its key (bulletin:2026H1, notice:2026Q3, reminder:2026-11)."""

    __tablename__ = "duty_run"

    key: str = Field(primary_key=True, max_length=64)
    done_at: datetime
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class PublicNotice(SQLModel, table=True):
    """A quarterly public notice and its objection window (公示期)."""

    __tablename__ = "public_notice"

    period: str = Field(primary_key=True, max_length=16)
    posted_at: datetime
    window_closes: date


class YearLock(SQLModel, table=True):
    """A finalized year: later entries for it are refused."""

    __tablename__ = "year_lock"

    year: int = Field(primary_key=True)
    locked_at: datetime
    locked_by: str = Field(default="", max_length=64)


# ---------------------------------------------------------------- year-end review in the chat
class ReviewPartScore(SQLModel, table=True):
    """One year-end review part of one person (述职, 分管领导评分, 班子评议), however it was
    entered: the vote's mean, the leaders' mean, the leading group's score, or a file.
    ``review_score`` holds a person's parts once they are all in."""

    __tablename__ = "review_part"

    year: int = Field(primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    part: str = Field(primary_key=True, max_length=32)
    points_cp: int
    source: str = Field(max_length=16)  # vote | leader | group | import
    entered_by: str = Field(default="", max_length=64)
    entered_at: datetime


class LeaderMark(SQLModel, table=True):
    """A leader in charge's 分管领导评分 of one person for a year (hundredths)."""

    __tablename__ = "leader_mark"

    year: int = Field(primary_key=True)
    leader_id: int = Field(foreign_key="person.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    points_cp: int
    entered_at: datetime


class ReviewDraft(SQLModel, table=True):
    """What someone is entering and has not sent yet: a ballot's ratings (deleted in the
    transaction that counts the ballot), a leader's or the leading group's scores."""

    __tablename__ = "review_draft"

    kind: str = Field(primary_key=True, max_length=16)  # ballot | leader | group
    year: int = Field(primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    values_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    updated_at: datetime


class Vote(SQLModel, table=True):
    """民主评议 of a year: open, closed (waiting for the leading group: turnout too low), or
    counted into the 述职 part. Its scale is kept as it was when it opened."""

    year: int = Field(primary_key=True)
    state: str = Field(default="open", max_length=16)
    part: str = Field(max_length=32)
    scale_json: str = Field(sa_column=Column(Text, nullable=False))
    min_turnout: str = Field(max_length=16)
    opened_at: datetime
    opened_by: str = Field(default="", max_length=64)
    closes_at: datetime | None = None
    remind_at: datetime | None = None
    closed_at: datetime | None = None
    counted_by: str = Field(default="", max_length=64)
    low_turnout_confirmed: bool = Field(default=False)


class VoteRoll(SQLModel, table=True):
    """Who may vote (everyone active when the vote opened; also who is rated) and whether
    they have: turnout, never what anyone voted."""

    __tablename__ = "vote_roll"

    year: int = Field(foreign_key="vote.year", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    voted: bool = Field(default=False)


class VoteTally(SQLModel, table=True):
    """How many submitted ballots gave a person each level of the scale. Ballots are added
    here and nowhere else: no row says who voted what, nor which ratings shared a ballot."""

    __tablename__ = "vote_tally"

    year: int = Field(foreign_key="vote.year", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    level: int = Field(primary_key=True)
    count: int = Field(default=0)


class DataVersion(SQLModel, table=True):
    """The version of the ledger or of the roster (``scoring.versions``).

    What a process keeps in memory (standings, the parser's index of the roster, accounts)
    is valid for one value; every write to the tables a version covers gives it a new value
    in the writer's own transaction, so every process sees the change when it commits.
    """

    __tablename__ = "data_version"

    name: str = Field(primary_key=True, max_length=16)
    value: int = Field(default=0, sa_type=BigInteger)  # a random 62-bit stamp
