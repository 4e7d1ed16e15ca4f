"""``/v1/courses``: a TMS course and its monitoring (contract section 5): the requests that start a course, record
its sessions, ratings and adverse events, end it and ask for its next step; the course as answered, with its
``progress`` and ``alerts``; the list and its query."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from eligibility.courses import (
    ADVERSE_EVENT_ACTIONS,
    ADVERSE_EVENT_KINDS,
    ADVERSE_EVENT_SEVERITIES,
    ALERT_CODES,
    ALERT_SEVERITIES,
    COURSE_KINDS,
    COURSE_STATUSES,
    END_REASONS,
    INSTRUMENTS,
    NEXT_KINDS,
    PROGRESS_STATUSES,
)
from eligibility.courses.model import ITEM9_INSTRUMENT
from eligibility.model import INSTRUMENT_RANGES
from eligibility.schemas import PROTOCOLS, StrictBoolean, StrictInteger, StrictNumber

from .base import OutputSchema, doc, nullable
from .paging import PageArgsSchema

ANY_ALERT = "any"
_RANGES = ", ".join(f"`{name}` {low}-{high}" for name, (low, high) in INSTRUMENT_RANGES.items())


def _optional(field_cls, *args, **kwargs):
    return field_cls(*args, allow_none=True, load_default=None, **kwargs)


class _Request(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def _score_in_range(data: dict) -> None:
    low, high = INSTRUMENT_RANGES[data["instrument"]]
    if not low <= data["score"] <= high:
        raise ma.ValidationError(f"{data['instrument']} scores run from {low} to {high}.", "score")


class BaselineSchema(_Request):
    """The rating before the first session: every improvement is measured from it, on its instrument."""

    instrument = fields.String(required=True, validate=validate.OneOf(INSTRUMENTS))
    score = StrictNumber(required=True, **doc(f"Inside the instrument's range: {_RANGES}."))
    date = fields.Date(required=True, **doc("Not after `start_date`."))

    @ma.validates_schema(skip_on_field_errors=True)
    def _in_range(self, data, **_):
        _score_in_range(data)


class CourseRequestSchema(_Request):
    """Start a course."""

    evaluation_id = _optional(fields.String, validate=validate.Regexp(r"^[0-9a-f]{32}$",
                                                                      error="Not an evaluation id."),
                              **doc("The evaluation that found the patient suitable; the course's next step is "
                                    "evaluated from its submission. Optional: without it there is no next step."))
    reference = _optional(fields.String, validate=validate.Length(max=128),
                          **doc("The caller's own reference for the course. Not PHI by contract."))
    kind = fields.String(load_default="initial", validate=validate.OneOf(COURSE_KINDS))
    protocol = _optional(fields.String, validate=validate.OneOf(PROTOCOLS),
                         **doc("As `request.protocol`; absent means not stated."))
    planned_sessions = StrictInteger(required=True, validate=validate.Range(1, 100),
                                     **doc("Sessions planned, before the taper."))
    taper_sessions = StrictInteger(load_default=0, validate=validate.Range(0, 30))
    start_date = fields.Date(required=True, **doc("The day of the first session."))
    baseline = fields.Nested(BaselineSchema, required=True)


class SessionRequestSchema(_Request):
    """One delivered session."""

    date = fields.Date(required=True, **doc("On or after the course's start."))
    motor_threshold_percent = _optional(StrictNumber, validate=validate.Range(1, 100),
                                        **doc("The resting motor threshold, as % of the machine's output."))
    intensity_percent_mt = _optional(StrictNumber, validate=validate.Range(1, 200),
                                     **doc("The stimulation intensity, as % of the motor threshold."))
    pulses = _optional(StrictInteger, validate=validate.Range(1, 20_000), **doc("Pulses delivered."))
    completed = StrictBoolean(load_default=True,
                              **doc("False for a session stopped before its dose was given: it is kept and does not "
                                    "count as delivered."))


class RatingRequestSchema(_Request):
    """A rating during the course."""

    instrument = fields.String(required=True, validate=validate.OneOf(INSTRUMENTS),
                               **doc("Response and remission are measured on the baseline's instrument; a rating on "
                                     "another raises `instrument_changed`."))
    score = StrictNumber(required=True, **doc(f"Inside the instrument's range: {_RANGES}."))
    date = fields.Date(required=True, **doc("On or after the course's start."))
    item9 = _optional(StrictInteger, validate=validate.Range(0, 3),
                      **doc("PHQ-9 only: item 9, thoughts of self-harm (0-3); 1 or more raises `suicidality`."))

    @ma.validates_schema(skip_on_field_errors=True)
    def _in_range_and_item9_on_phq9(self, data, **_):
        _score_in_range(data)
        if data.get("item9") is not None and data["instrument"] != ITEM9_INSTRUMENT:
            raise ma.ValidationError("item9 is the PHQ-9's self-harm item: it belongs to a PHQ-9 rating only.",
                                     "item9")


class AdverseEventRequestSchema(_Request):
    """An adverse event during the course."""

    date = fields.Date(required=True, **doc("On or after the course's start."))
    kind = fields.String(required=True, validate=validate.OneOf(ADVERSE_EVENT_KINDS),
                         **doc("`seizure` raises the `seizure` alert, `worsening_suicidality` `suicidality`, "
                               "`hypomania_or_mania` `mania`."))
    severity = fields.String(required=True, validate=validate.OneOf(ADVERSE_EVENT_SEVERITIES))
    action = fields.String(required=True, validate=validate.OneOf(ADVERSE_EVENT_ACTIONS))


class EndRequestSchema(_Request):
    """End the course."""

    date = fields.Date(required=True, **doc("On or after the start and the last record."))
    reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))


class NextRequestSchema(_Request):
    """Evaluate the course's next step through the policies."""

    kind = fields.String(required=True, validate=validate.OneOf(NEXT_KINDS))
    policies = _optional(fields.List, fields.String(validate=validate.Length(min=1, max=100)),
                         **doc("Policy ids, in this order; default: the evaluation's own (or the server's default "
                               "list). Checked as a submission's `policies`."))
    as_of = _optional(fields.Date, **doc("The date the next step is evaluated for; default: today (UTC), or the "
                                         "course's last record or end if that is later."))
    sessions = _optional(StrictInteger, validate=validate.Range(1, 100),
                         **doc("Sessions asked for, taper included (an extension's, a retreatment's); absent: not "
                               "stated, so session limits are unknown."))
    protocol = _optional(fields.String, validate=validate.OneOf(PROTOCOLS),
                         **doc("Default: the course's protocol."))


# -- answers -------------------------------------------------------------------------------------------------

class RatingValueSchema(OutputSchema):
    instrument = fields.String(required=True, validate=validate.OneOf(INSTRUMENTS))
    score = fields.Float(required=True)
    date = fields.Date(required=True)


class EndSchema(OutputSchema):
    date = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))


class ProgressSchema(OutputSchema):
    """Where the course stands, computed from its records each time it is read."""

    sessions_delivered = fields.Integer(required=True, **doc("Completed sessions."))
    sessions_planned = fields.Integer(required=True, **doc("Planned + taper."))
    sessions_remaining = fields.Integer(required=True, **doc("Planned + taper − delivered, never below 0."))
    latest = fields.Nested(RatingValueSchema, allow_none=True, required=True,
                           **doc("The latest rating on the baseline's instrument (by date, then as recorded)."))
    improvement_percent = nullable(fields.Float, required=True,
                                   text="(baseline − latest) / baseline × 100, to one decimal (half away from zero); "
                                        "`null` without a rating on the baseline's instrument (or a baseline of 0).")
    response = nullable(fields.Boolean, required=True, text="`improvement_percent` ≥ 50; `null` while it is `null`.")
    remission = nullable(fields.Boolean, required=True,
                         text="The latest at or below the instrument's remission cut-off (PHQ-9 ≤ 4, HAM-D17 ≤ 7, "
                              "QIDS-SR16 ≤ 5, MADRS ≤ 10); `null` for an instrument without a sourced cut-off, or "
                              "without a rating.")
    status = fields.String(required=True, validate=validate.OneOf(PROGRESS_STATUSES),
                           **doc("The first that applies: `remitted` (remission), `unknown` (no improvement), "
                                 "`responding` (≥ 50%), `partial` (25-49.9%), `worsening` (20% or more worse), "
                                 "`no_change`."))


class AlertSchema(OutputSchema):
    code = fields.String(required=True, validate=validate.OneOf(ALERT_CODES),
                         **doc("`seizure`, `suicidality`, `mania` (critical); `worsening`, `rating_overdue`, "
                               "`over_planned` (warning); `instrument_changed` (info). Once raised, an alert stays "
                               "when records are added, but `rating_overdue` (until a rating is recorded) and "
                               "`over_planned`, which are raised only while the course is active."))
    severity = fields.String(required=True, validate=validate.OneOf(ALERT_SEVERITIES))
    text = fields.String(required=True, **doc("A sentence for the clinician."))
    date = fields.Date(required=True, **doc("The date of the most recent record that raises it."))


class _Recorded(OutputSchema):
    recorded_at = fields.DateTime(required=True)
    recorded_by = nullable(fields.String, required=True, text="The key id of who recorded it.")


class SessionSchema(_Recorded):
    date = fields.Date(required=True)
    completed = fields.Boolean(required=True)
    motor_threshold_percent = nullable(fields.Float, required=True, text="% of machine output.")
    intensity_percent_mt = nullable(fields.Float, required=True, text="% of the motor threshold.")
    pulses = nullable(fields.Integer, required=True, text="Pulses delivered.")


class RatingSchema(_Recorded):
    instrument = fields.String(required=True, validate=validate.OneOf(INSTRUMENTS))
    score = fields.Float(required=True)
    date = fields.Date(required=True)
    item9 = nullable(fields.Integer, required=True, text="PHQ-9 item 9, when recorded.")


class AdverseEventSchema(_Recorded):
    date = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ADVERSE_EVENT_KINDS))
    severity = fields.String(required=True, validate=validate.OneOf(ADVERSE_EVENT_SEVERITIES))
    action = fields.String(required=True, validate=validate.OneOf(ADVERSE_EVENT_ACTIONS))


class NextStepSchema(OutputSchema):
    id = fields.String(required=True, **doc("The evaluation's id (`GET /v1/evaluations/{id}`)."))
    kind = fields.String(required=True, validate=validate.OneOf(NEXT_KINDS))
    created_at = fields.DateTime(required=True)


class CourseSummarySchema(OutputSchema):
    """A course in the list: its header, progress and alerts."""

    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    evaluation_id = nullable(fields.String, required=True, text="The evaluation the course started from.")
    reference = nullable(fields.String, required=True, text="The caller's reference.")
    kind = fields.String(required=True, validate=validate.OneOf(COURSE_KINDS))
    protocol = nullable(fields.String, required=True, validate=validate.OneOf(PROTOCOLS), text="Not stated: `null`.")
    planned_sessions = fields.Integer(required=True)
    taper_sessions = fields.Integer(required=True)
    start_date = fields.Date(required=True)
    baseline = fields.Nested(RatingValueSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(COURSE_STATUSES))
    end = fields.Nested(EndSchema, allow_none=True, required=True, **doc("`null` while the course is active."))
    progress = fields.Nested(ProgressSchema, required=True)
    alerts = fields.List(fields.Nested(AlertSchema), required=True, **doc("Most severe first."))


class CourseSchema(CourseSummarySchema):
    """A course with its records (by date, and within a day as recorded) and its next-step evaluations."""

    sessions = fields.List(fields.Nested(SessionSchema), required=True)
    ratings = fields.List(fields.Nested(RatingSchema), required=True)
    adverse_events = fields.List(fields.Nested(AdverseEventSchema), required=True)
    next_steps = fields.List(fields.Nested(NextStepSchema), required=True,
                             **doc("Evaluations made by `POST /v1/courses/{id}/next`, oldest first."))


class CourseListSchema(OutputSchema):
    items = fields.List(fields.Nested(CourseSummarySchema), required=True, **doc("Newest first."))
    next_cursor = nullable(fields.String, required=True,
                           text="Pass as `cursor` for the next page; `null` on the last page.")


class CourseArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(COURSE_STATUSES), **doc("Only active or only ended courses."))
    alert = fields.String(validate=validate.OneOf((*ALERT_CODES, ANY_ALERT)),
                          **doc("Only courses with an alert of this code (`any`: with any alert)."))
    evaluation_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"),
                                  **doc("Only courses started from this evaluation or whose next step it evaluated."))
