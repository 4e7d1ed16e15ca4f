"""CDS Hooks: the ids of the EHR tokens accepted (never twice within a token's lifetime), and the cards answered
(feedback on a card reaches its evaluation).

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jwt_ids",
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False,
                  comment="the token's exp plus the allowed skew: the id may be forgotten after it"),
        sa.PrimaryKeyConstraint("issuer", "jti", name="pk_jwt_ids"),
        comment="ids of the EHR tokens accepted, so that none is accepted twice within its lifetime",
    )
    op.create_index("ix_jwt_ids_expires_at", "jwt_ids", ["expires_at"])
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("evaluation_id", sa.String(32), nullable=False),
        sa.Column("policy_id", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name="pk_cds_cards"),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"], name="fk_cds_cards_evaluation_id_evaluations"),
        comment="the cards a CDS Hooks call answered, so that feedback on a card reaches its evaluation",
    )
    op.create_index("ix_cds_cards_evaluation_id", "cds_cards", ["evaluation_id"])


def downgrade() -> None:
    op.drop_index("ix_cds_cards_evaluation_id", "cds_cards")
    op.drop_table("cds_cards")
    op.drop_index("ix_jwt_ids_expires_at", "jwt_ids")
    op.drop_table("jwt_ids")
