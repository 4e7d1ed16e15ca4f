"""Evaluations and the policies each was evaluated against.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("seq", _Sequence, primary_key=True, autoincrement=True,
                  comment="insertion order; the review queue's cursor"),
        sa.Column("id", sa.String(32), nullable=False, comment="the public, opaque id"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("body_digest", sa.String(71), nullable=False, comment="sha256 of the request body's bytes"),
        sa.Column("submission", sa.Text, nullable=False, comment="the validated request body, as received"),
        sa.Column("result", sa.Text, nullable=False,
                  comment="the response body, returned byte-for-byte by GET"),
        sa.Column("review_status", sa.String(16), nullable=False, server_default="pending"),
        sa.PrimaryKeyConstraint("seq", name="pk_evaluations"),
        sa.UniqueConstraint("id", name="uq_evaluations_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_evaluations_idempotency_key"),
    )
    op.create_index("ix_evaluations_review_status_seq", "evaluations", ["review_status", "seq"])
    op.create_table(
        "evaluation_policies",
        sa.Column("evaluation_id", sa.String(32), nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False, autoincrement=False),
        sa.Column("policy_id", sa.String(100), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("policy_digest", sa.String(71), nullable=False),
        sa.Column("determination", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", "position", name="pk_evaluation_policies"),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"], ondelete="CASCADE",
                                name="fk_evaluation_policies_evaluation_id_evaluations"),
    )
    op.create_index("ix_evaluation_policies_policy_id_determination", "evaluation_policies",
                    ["policy_id", "determination"])


def downgrade() -> None:
    op.drop_table("evaluation_policies")
    op.drop_table("evaluations")
