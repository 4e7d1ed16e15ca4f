"""``tms-eligibility course show ID``: a TMS course's progress and alerts on ``$DATABASE_URL`` (``--json``: the course
as ``GET /v1/courses/{id}`` answers it). The read is audited (channel ``cli``)."""

from __future__ import annotations

import json
import sys

from services import courses
from services.errors import NotFound

from ..constants import EXIT_FAILURE, EXIT_OK
from .service import CLI, _migrated


def _text(course: dict) -> str:
    p = course["progress"]
    baseline = course["baseline"]
    latest = p["latest"]
    protocol = course["protocol"] or "protocol not stated"
    lines = [f"course {course['id']} ({course['status']}; {course['kind']}, {protocol})"
             + (f", reference {course['reference']}" if course["reference"] else ""),
             f"  started {course['start_date']}" + (f", ended {course['end']['date']} ({course['end']['reason']})"
                                                    if course["end"] else ""),
             f"  sessions: {p['sessions_delivered']} delivered of {p['sessions_planned']} planned "
             f"({course['planned_sessions']} + {course['taper_sessions']} taper), {p['sessions_remaining']} remaining",
             f"  baseline: {baseline['instrument'].upper()} {baseline['score']} on {baseline['date']}",
             "  latest: " + (f"{latest['instrument'].upper()} {latest['score']} on {latest['date']}" if latest
                             else "no rating on the baseline's scale yet"),
             "  improvement: " + ("not known" if p["improvement_percent"] is None else
                                  f"{p['improvement_percent']}%") + f"; response: {_yes(p['response'])}; "
             f"remission: {_yes(p['remission'])}; status: {p['status'].replace('_', ' ')}"]
    lines.append("  alerts:" + ("" if course["alerts"] else " none"))
    lines += [f"    {a['severity'].upper():<8} {a['code']} ({a['date']}): {a['text']}" for a in course["alerts"]]
    if course["next_steps"]:
        lines.append("  next steps: " + ", ".join(f"{n['kind']} evaluation {n['id']}" for n in course["next_steps"]))
    return "\n".join(lines)


def _yes(value) -> str:
    return "not known" if value is None else "yes" if value else "no"


def cmd_course_show(args) -> int:
    try:
        with _migrated(args) as state:
            found = courses.read_course(state.unit_of_work(), args.course_id, CLI)
    except NotFound:
        print(f"error: no course has the id {args.course_id!r}", file=sys.stderr)
        return EXIT_FAILURE
    course = found.to_wire()
    print(json.dumps(course, ensure_ascii=False, indent=2) if args.json else _text(course))
    return EXIT_OK


def add_commands(sub) -> None:
    course = sub.add_parser("course", help="TMS courses ($DATABASE_URL; the database is migrated first)")
    course_sub = course.add_subparsers(dest="course_command", required=True)
    p = course_sub.add_parser("show", help="a course's sessions, progress and alerts")
    p.add_argument("course_id")
    p.add_argument("--json", action="store_true", help="the course as GET /v1/courses/{id} answers it")
    p.set_defaults(func=cmd_course_show)
