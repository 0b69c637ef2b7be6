"""data versions for what processes keep in memory; indexes of revocations and of a person's lines

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_NULL = sa.text("revokes_id IS NOT NULL")


def upgrade() -> None:
    """data_version with its two rows; a partial index on entry.revokes_id."""
    counters = op.create_table(
        "data_version",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(counters, [{"name": "ledger", "value": 0}, {"name": "roster", "value": 0}])
    op.create_index(
        "ix_entry_revocation",
        "entry",
        ["revokes_id"],
        unique=False,
        sqlite_where=NOT_NULL,
        postgresql_where=NOT_NULL,
    )
    op.drop_index("ix_entry_person", table_name="entry")
    op.create_index("ix_entry_person_kind", "entry", ["person_id", "fact_date", "id", "kind"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_entry_person_kind", table_name="entry")
    op.create_index("ix_entry_person", "entry", ["person_id", "fact_date"])
    op.drop_index("ix_entry_revocation", table_name="entry")
    op.drop_table("data_version")
