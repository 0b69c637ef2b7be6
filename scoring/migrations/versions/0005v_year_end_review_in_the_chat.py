"""the year-end review in the chat: the vote (roll, tallies), drafts, leaders' marks, parts

Revision ID: 0005v
Revises: 0004
Create Date: 2026-12-02 01:36:12

(Numbered 0005v on its branch; the lead re-chains it after 0005 when merging.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005v"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The vote, its roll and tallies; drafts; leaders' marks; review parts one by one."""
    op.create_table(
        "vote",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("part", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("scale_json", sa.Text(), nullable=False),
        sa.Column("min_turnout", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("remind_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("counted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("low_turnout_confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "leader_mark",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("points_cp", sa.Integer(), nullable=False),
        sa.Column("entered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["leader_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("year", "leader_id", "person_id"),
    )
    op.create_table(
        "review_draft",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("values_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("kind", "year", "person_id"),
    )
    op.create_table(
        "review_part",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("part", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("points_cp", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("entered_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("year", "person_id", "part"),
    )
    op.create_table(
        "vote_roll",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("voted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["year"],
            ["vote.year"],
        ),
        sa.PrimaryKeyConstraint("year", "person_id"),
    )
    op.create_table(
        "vote_tally",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["year"],
            ["vote.year"],
        ),
        sa.PrimaryKeyConstraint("year", "person_id", "level"),
    )


def downgrade() -> None:
    """Drop them (review_score keeps the complete parts)."""
    op.drop_table("vote_tally")
    op.drop_table("vote_roll")
    op.drop_table("review_part")
    op.drop_table("review_draft")
    op.drop_table("leader_mark")
    op.drop_table("vote")
