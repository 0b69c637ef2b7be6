"""evidence files: the local copy of each evidence photo or document, by its SHA-256

Revision ID: 0005e
Revises: 0004
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005e"
down_revision: str | None = "0005v"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("entry", "study_submission")


def upgrade() -> None:
    """entry.evidence_file and study_submission.evidence_file ("<sha256>.<ext>", or "")."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "evidence_file",
                    sqlmodel.sql.sqltypes.AutoString(length=80),
                    nullable=False,
                    server_default="",
                )
            )


def downgrade() -> None:
    """Revert (the files stay in the evidence folder; only their names are forgotten)."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("evidence_file")
