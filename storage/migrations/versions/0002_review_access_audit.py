"""Clinician review: API keys, reviews, page sessions and the append-only audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The tables whose rows no statement may change or delete (storage.tables.APPEND_ONLY).
APPEND_ONLY = ("audit_events", "reviews")


def _guard(table: str, dialect: str) -> list[str]:
    """SQL that makes the database itself refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of ``table``."""
    if dialect == "sqlite":
        return [f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END" for verb in ("UPDATE", "DELETE")]
    if dialect == "postgresql":
        return [f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()",
                f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"]
    return []  # another database: the application still never updates or deletes these rows


_PG_FUNCTION = """
CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), nullable=False, comment="the public key id, in lists and the audit trail"),
        sa.Column("name", sa.String(100), nullable=False, comment="who or what holds the key"),
        sa.Column("role", sa.String(16), nullable=False, comment="intake, clinician or admin"),
        sa.Column("key_hash", sa.String(64), nullable=False,
                  comment="sha256 (hex) of the key; the key itself is never stored"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True,
                  comment="set once; a revoked key fails at once"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "reviews",
        sa.Column("evaluation_id", sa.String(32), nullable=False),
        sa.Column("number", sa.SmallInteger, nullable=False, autoincrement=False,
                  comment="1 for the first review, 2 for the amendment of 1, and so on"),
        sa.Column("decision", sa.String(16), nullable=False, comment="accept or override"),
        sa.Column("determination", sa.String(32), nullable=False, comment="the clinician's determination"),
        sa.Column("reason", sa.Text, nullable=True,
                  comment="the clinician's free text: stored, never logged or audited"),
        sa.Column("reviewer_key_id", sa.String(16), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", "number", name="pk_reviews"),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"], name="fk_reviews_evaluation_id_evaluations"),
        sa.ForeignKeyConstraint(["reviewer_key_id"], ["api_keys.id"],
                                name="fk_reviews_reviewer_key_id_api_keys"),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="append order; the audit's cursor"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False, comment="api, page or cli"),
        sa.Column("actor_key_id", sa.String(16), nullable=True),
        sa.Column("actor_role", sa.String(16), nullable=True),
        sa.Column("evaluation_id", sa.String(32), nullable=True),
        sa.Column("review_number", sa.SmallInteger, nullable=True),
        sa.Column("subject_key_id", sa.String(16), nullable=True, comment="the key created or revoked"),
        sa.Column("policies", sa.Text, nullable=True, comment='JSON [{"id", "version", "digest"}] of the evaluation'),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("status", sa.SmallInteger, nullable=True, comment="the HTTP status answered"),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        comment="append-only: ids, never clinical content; no foreign keys, so it outlives what it records",
    )
    op.create_index("ix_audit_events_evaluation_id", "audit_events", ["evaluation_id"])
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False, comment="sha256 (hex) of the session cookie's value"),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, comment="slides while the page is used"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name="fk_web_sessions_key_id_api_keys"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
    for table in APPEND_ONLY:
        for statement in _guard(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers; the tables go, so the guard goes with them.
    op.drop_table("web_sessions")
    op.drop_table("audit_events")
    op.drop_table("reviews")
    op.drop_table("api_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION refuse_append_only_change()")
