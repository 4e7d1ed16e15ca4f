"""Per-policy reviews: a review may concern one policy's result (``policy_id``) and record the documentation
requirements the clinician attested (``attested``).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ``reviews`` is append-only (its triggers refuse UPDATE and DELETE): nullable columns are added in place
    # (ALTER TABLE ... ADD COLUMN, never a copy of the table, which would lose its triggers) and change no row.
    op.add_column("reviews", sa.Column("policy_id", sa.String(100), nullable=True,
                                       comment="the policy whose result is reviewed; null: every result"))
    op.add_column("reviews", sa.Column("attested", sa.Text, nullable=True,
                                       comment="JSON list of the documentation requirement ids attested"))


def downgrade() -> None:
    op.drop_column("reviews", "attested")  # in place (SQLite 3.35 and later), keeping the triggers
    op.drop_column("reviews", "policy_id")
