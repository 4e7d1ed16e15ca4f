"""Hardening: per-client evaluations (idempotency keys stored scoped to the client, as a digest), a hash chain
over the audit trail, REPLACE refused on the append-only tables (SQLite), indexes for the queue, course and
audit filters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The append-only tables and the columns of their primary keys (storage.tables.APPEND_ONLY).
_KEYS = {"audit_events": ("seq",), "reviews": ("evaluation_id", "number")}

_AUDIT_FILTERS = ("evaluation_id", "course_id")  # 0002 and 0005 indexed them alone: now with seq, for the order


def _no_replace(table: str, columns: tuple[str, ...]) -> str:
    """SQLite: ``REPLACE`` (``INSERT OR REPLACE``) deletes the row it conflicts with without firing the DELETE
    triggers, so an INSERT whose key is already there is refused before it is tried."""
    match = " AND ".join(f"{c} = NEW.{c}" for c in columns)
    return (f"CREATE TRIGGER {table}_append_only_insert BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {match}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with this key exists'); END")


def upgrade() -> None:
    # Every change is in place (no table is copied): a copy of a table would lose its triggers, and dropping
    # ``evaluations`` to copy it would cascade to its policies.
    op.add_column("api_keys", sa.Column("client_id", sa.String(64), nullable=True,
                                        comment="the client the key acts for (e.g. one referral partner); its intake "
                                                "keys share evaluations"))
    op.add_column("evaluations", sa.Column("created_by", sa.String(16), nullable=True,
                                           comment="the key that made it (migration 0006)"))
    op.add_column("evaluations", sa.Column("client_id", sa.String(64), nullable=True,
                                           comment="the client (group of keys) of that key: its intake keys alone "
                                                   "read it"))
    op.drop_index("ix_evaluation_policies_policy_id_determination", "evaluation_policies")
    op.create_index("ix_evaluation_policies_policy_id_determination_evaluation_id", "evaluation_policies",
                    ["policy_id", "determination", "evaluation_id"])
    op.create_index("ix_courses_end_date_seq", "courses", ["end_date", "seq"])
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(64), nullable=True,
                                            comment="row_hash of the row before (migration 0006)"))
    op.add_column("audit_events", sa.Column("row_hash", sa.String(64), nullable=True,
                                            comment="sha256 (hex) of prev_hash and this row's columns: the chain "
                                                    "`audit verify` checks"))
    for column in _AUDIT_FILTERS:
        op.drop_index(f"ix_audit_events_{column}", "audit_events")
    for column in (*_AUDIT_FILTERS, "actor_key_id", "action"):
        op.create_index(f"ix_audit_events_{column}_seq", "audit_events", [column, "seq"])
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in _KEYS.items():
            op.execute(_no_replace(table, columns))
    # PostgreSQL has no REPLACE; INSERT ... ON CONFLICT DO UPDATE is an UPDATE, which migration 0002's trigger
    # refuses (tests/api/test_hardening.py checks both databases).


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _KEYS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_insert")
    for column in (*_AUDIT_FILTERS, "actor_key_id", "action"):
        op.drop_index(f"ix_audit_events_{column}_seq", "audit_events")
    for column in _AUDIT_FILTERS:
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    op.drop_column("audit_events", "row_hash")  # in place (SQLite 3.35 and later), keeping the triggers
    op.drop_column("audit_events", "prev_hash")
    op.drop_index("ix_courses_end_date_seq", "courses")
    op.drop_index("ix_evaluation_policies_policy_id_determination_evaluation_id", "evaluation_policies")
    op.create_index("ix_evaluation_policies_policy_id_determination", "evaluation_policies",
                    ["policy_id", "determination"])
    op.drop_column("evaluations", "client_id")
    op.drop_column("evaluations", "created_by")
    op.drop_column("api_keys", "client_id")
