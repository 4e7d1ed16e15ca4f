"""``/v1/audit``: reading the audit trail (role admin), through ``services.audit``."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services import audit

from .access import requires
from .caller import caller
from .constants import NEXT_LINK_HEADER
from .responses import json_response, next_link
from .schemas.audit import AuditArgsSchema, AuditListSchema
from .state import state

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="The audit trail (role admin).")


@blp.route("")
class Audit(MethodView):

    @requires("admin", action="audit.read")
    @blp.doc(summary="The audit trail, newest first",
             description="One row per evaluation created, read, listed or reviewed, key created or revoked, "
                         "review-page session, course written, read or listed, and refused attempt (403): ids, never "
                         "clinical content. "
                         "`tms-eligibility audit export` writes every row as JSON lines.")
    @blp.arguments(AuditArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, AuditListSchema, headers=NEXT_LINK_HEADER)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, limit: int, cursor: str | None = None, evaluation_id: str | None = None,
            actor_key_id: str | None = None, action: str | None = None, course_id: str | None = None):
        s = state()
        page = audit.read_audit(s.unit_of_work(), caller(success=200), limit=limit, cursor=cursor,
                                evaluation_id=evaluation_id, actor_key_id=actor_key_id, action=action,
                                course_id=course_id, clock=s.clock)
        return json_response({"items": [row.to_wire() for row in page.items], "next_cursor": page.next_cursor},
                             **next_link(blp.url_prefix, limit=limit, cursor=page.next_cursor,
                                         evaluation_id=evaluation_id, actor_key_id=actor_key_id, action=action,
                                         course_id=course_id))
