"""The database's tables, declared once for SQLAlchemy Core; the Alembic migrations in ``storage/migrations``
build exactly these (a test compares them).

``audit_events`` and ``reviews`` are append-only: no code updates or deletes one of their rows, and a
trigger in the database refuses it (``APPEND_ONLY``, migration 0002).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite only makes an INTEGER PRIMARY KEY the rowid (and autoincrementing); PostgreSQL gets BIGINT.
_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

evaluations = sa.Table(
    "evaluations", metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True,
              comment="insertion order; the review queue's cursor"),
    sa.Column("id", sa.String(32), nullable=False, unique=True, comment="the public, opaque id"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("reference", sa.String(128), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    # since migration 0006 the client's Idempotency-Key, scoped: sha256 of the client and the key
    sa.Column("idempotency_key", sa.String(255), nullable=True, unique=True),
    sa.Column("body_digest", sa.String(71), nullable=False, comment="sha256 of the request body's bytes"),
    sa.Column("submission", sa.Text, nullable=False, comment="the validated request body, as received"),
    sa.Column("result", sa.Text, nullable=False, comment="the response body, returned byte-for-byte by GET"),
    sa.Column("review_status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("created_by", sa.String(16), nullable=True, comment="the key that made it (migration 0006)"),
    sa.Column("client_id", sa.String(64), nullable=True,
              comment="the client (group of keys) of that key: its intake keys alone read it"),
    sa.Index(None, "review_status", "seq"),
)

evaluation_policies = sa.Table(
    "evaluation_policies", metadata,
    sa.Column("evaluation_id", sa.String(32), sa.ForeignKey("evaluations.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("policy_id", sa.String(100), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=False),
    sa.Column("policy_digest", sa.String(71), nullable=False),
    sa.Column("determination", sa.String(32), nullable=False),
    sa.Index(None, "policy_id", "determination", "evaluation_id"),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.String(16), primary_key=True, comment="the public key id, in lists and the audit trail"),
    sa.Column("name", sa.String(100), nullable=False, comment="who or what holds the key"),
    sa.Column("role", sa.String(16), nullable=False, comment="intake, clinician or admin"),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True,
              comment="sha256 (hex) of the key; the key itself is never stored"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True, comment="set once; a revoked key fails at once"),
    sa.Column("client_id", sa.String(64), nullable=True,
              comment="the client the key acts for (e.g. one referral partner); its intake keys share evaluations"),
)

reviews = sa.Table(
    "reviews", metadata,
    sa.Column("evaluation_id", sa.String(32), sa.ForeignKey("evaluations.id"), primary_key=True),
    sa.Column("number", sa.SmallInteger, primary_key=True, autoincrement=False,
              comment="1 for the first review, 2 for the amendment of 1, and so on"),
    sa.Column("decision", sa.String(16), nullable=False, comment="accept or override"),
    sa.Column("determination", sa.String(32), nullable=False, comment="the clinician's determination"),
    sa.Column("reason", sa.Text, nullable=True, comment="the clinician's free text: stored, never logged or audited"),
    sa.Column("reviewer_key_id", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("policy_id", sa.String(100), nullable=True,
              comment="the policy whose result is reviewed; null: every result"),
    sa.Column("attested", sa.Text, nullable=True, comment="JSON list of the documentation requirement ids attested"),
)

audit_events = sa.Table(
    "audit_events", metadata,
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
    sa.Column("course_id", sa.String(32), nullable=True, comment="the TMS course acted on"),
    sa.Column("prev_hash", sa.String(64), nullable=True, comment="row_hash of the row before (migration 0006)"),
    sa.Column("row_hash", sa.String(64), nullable=True,
              comment="sha256 (hex) of prev_hash and this row's columns: the chain `audit verify` checks"),
    sa.Index(None, "evaluation_id", "seq"),
    sa.Index(None, "course_id", "seq"),
    sa.Index(None, "actor_key_id", "seq"),
    sa.Index(None, "action", "seq"),
    comment="append-only: ids, never clinical content; no foreign keys, so it outlives what it records",
)

web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True, comment="sha256 (hex) of the session cookie's value"),
    sa.Column("key_id", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, comment="slides while the page is used"),
)

# -- TMS courses (migration 0005) -------------------------------------------------------------------------

courses = sa.Table(
    "courses", metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="insertion order; the list's cursor"),
    sa.Column("id", sa.String(32), nullable=False, unique=True, comment="the public, opaque id"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Column("evaluation_id", sa.String(32), sa.ForeignKey("evaluations.id"), nullable=True,
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
    sa.Column("ended_by", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Column("writes", sa.Integer, nullable=False, comment="bumped by every write: holds the row while it is made"),
    sa.Index(None, "evaluation_id"),
    sa.Index(None, "end_date", "seq"),
)

course_sessions = sa.Table(
    "course_sessions", metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="the order recorded"),
    sa.Column("course_id", sa.String(32), sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("completed", sa.Boolean, nullable=False),
    sa.Column("motor_threshold_percent", sa.Float, nullable=True, comment="% of machine output"),
    sa.Column("intensity_percent_mt", sa.Float, nullable=True, comment="% of the motor threshold"),
    sa.Column("pulses", sa.Integer, nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Index(None, "course_id"),
)

course_ratings = sa.Table(
    "course_ratings", metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="the order recorded"),
    sa.Column("course_id", sa.String(32), sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("instrument", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("item9", sa.SmallInteger, nullable=True, comment="PHQ-9 item 9 (self-harm), 0-3"),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Index(None, "course_id"),
)

course_adverse_events = sa.Table(
    "course_adverse_events", metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="the order recorded"),
    sa.Column("course_id", sa.String(32), sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(16), sa.ForeignKey("api_keys.id"), nullable=True),
    sa.Index(None, "course_id"),
)

course_evaluations = sa.Table(
    "course_evaluations", metadata,
    sa.Column("course_id", sa.String(32), sa.ForeignKey("courses.id"), primary_key=True),
    sa.Column("evaluation_id", sa.String(32), sa.ForeignKey("evaluations.id"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, comment="the next step evaluated"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "evaluation_id"),
)

# -- CDS Hooks (migration 0008) ---------------------------------------------------------------------------

jwt_ids = sa.Table(
    "jwt_ids", metadata,
    sa.Column("issuer", sa.String(255), primary_key=True),
    sa.Column("jti", sa.String(255), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False,
              comment="the token's exp plus the allowed skew: the id may be forgotten after it"),
    sa.Index(None, "expires_at"),
    comment="ids of the EHR tokens accepted, so that none is accepted twice within its lifetime",
)

cds_cards = sa.Table(
    "cds_cards", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("evaluation_id", sa.String(32), sa.ForeignKey("evaluations.id"), nullable=False),
    sa.Column("policy_id", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "evaluation_id"),
    comment="the cards a CDS Hooks call answered, so that feedback on a card reaches its evaluation",
)

# Tables no statement may change or shorten once a row is in: the migrations guard them with triggers.
APPEND_ONLY = ("audit_events", "reviews")
