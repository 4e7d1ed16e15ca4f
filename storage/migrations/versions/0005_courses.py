"""TMS courses: the course, its sessions, ratings and adverse events, its next-step evaluations; the audit trail's
course id.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _provenance() -> list:
    return [sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("recorded_by", sa.String(16), nullable=True)]


def _record_table(name: str, *columns) -> None:
    """A table of one kind of a course's records: the order recorded, the course, the columns, who and when."""
    op.create_table(
        name,
        sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="the order recorded"),
        sa.Column("course_id", sa.String(32), nullable=False),
        *columns,
        *_provenance(),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], name=f"fk_{name}_course_id_courses"),
        sa.ForeignKeyConstraint(["recorded_by"], ["api_keys.id"], name=f"fk_{name}_recorded_by_api_keys"),
    )
    op.create_index(f"ix_{name}_course_id", name, ["course_id"])


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="insertion order; the list's cursor"),
        sa.Column("id", sa.String(32), nullable=False, comment="the public, opaque id"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(16), nullable=True),
        sa.Column("evaluation_id", sa.String(32), nullable=True,
                  comment="the evaluation that found the patient suitable"),
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=True),
        sa.Column("planned_sessions", sa.SmallInteger, nullable=False),
        sa.Column("taper_sessions", sa.SmallInteger, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("baseline_instrument", sa.String(16), nullable=False),
        sa.Column("baseline_score", sa.Float, nullable=False),
        sa.Column("baseline_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True, comment="set once, when the course ends"),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(16), nullable=True),
        sa.Column("writes", sa.Integer, nullable=False,
                  comment="bumped by every write: holds the row while it is made"),
        sa.PrimaryKeyConstraint("seq", name="pk_courses"),
        sa.UniqueConstraint("id", name="uq_courses_id"),
        sa.ForeignKeyConstraint(["created_by"], ["api_keys.id"], name="fk_courses_created_by_api_keys"),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"], name="fk_courses_evaluation_id_evaluations"),
        sa.ForeignKeyConstraint(["ended_by"], ["api_keys.id"], name="fk_courses_ended_by_api_keys"),
    )
    op.create_index("ix_courses_evaluation_id", "courses", ["evaluation_id"])
    _record_table("course_sessions",
                  sa.Column("date", sa.Date, nullable=False),
                  sa.Column("completed", sa.Boolean, nullable=False),
                  sa.Column("motor_threshold_percent", sa.Float, nullable=True, comment="% of machine output"),
                  sa.Column("intensity_percent_mt", sa.Float, nullable=True, comment="% of the motor threshold"),
                  sa.Column("pulses", sa.Integer, nullable=True))
    _record_table("course_ratings",
                  sa.Column("instrument", sa.String(16), nullable=False),
                  sa.Column("score", sa.Float, nullable=False),
                  sa.Column("date", sa.Date, nullable=False),
                  sa.Column("item9", sa.SmallInteger, nullable=True, comment="PHQ-9 item 9 (self-harm), 0-3"))
    _record_table("course_adverse_events",
                  sa.Column("date", sa.Date, nullable=False),
                  sa.Column("kind", sa.String(32), nullable=False),
                  sa.Column("severity", sa.String(16), nullable=False),
                  sa.Column("action", sa.String(32), nullable=False))
    op.create_table(
        "course_evaluations",
        sa.Column("course_id", sa.String(32), nullable=False),
        sa.Column("evaluation_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, comment="the next step evaluated"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "evaluation_id", name="pk_course_evaluations"),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], name="fk_course_evaluations_course_id_courses"),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"],
                                name="fk_course_evaluations_evaluation_id_evaluations"),
    )
    op.create_index("ix_course_evaluations_evaluation_id", "course_evaluations", ["evaluation_id"])
    # The audit trail is append-only (its triggers refuse UPDATE and DELETE): a nullable column is added in place
    # (ALTER TABLE ... ADD COLUMN, never a copy of the table, which would lose its triggers) and changes no row.
    op.add_column("audit_events", sa.Column("course_id", sa.String(32), nullable=True,
                                            comment="the TMS course acted on"))
    op.create_index("ix_audit_events_course_id", "audit_events", ["course_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_course_id", "audit_events")
    op.drop_column("audit_events", "course_id")  # in place (SQLite 3.35 and later), keeping the triggers
    op.drop_table("course_evaluations")
    op.drop_table("course_adverse_events")
    op.drop_table("course_ratings")
    op.drop_table("course_sessions")
    op.drop_table("courses")
