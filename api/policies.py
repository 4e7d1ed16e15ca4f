"""``/v1/policies``: the loaded policies, with version, digest, sources and criteria titles."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug import Response

from eligibility import Library
from eligibility.policy import Policy
from services.documents import dumps

from .access import requires
from .constants import JSON, ROLES
from .errors import Problem
from .schemas.policies import PolicyListSchema, PolicySchema
from .state import state

blp = Blueprint("policies", __name__, url_prefix="/v1/policies",
                description="The policies this service evaluates against.")


def summary(policy: Policy) -> dict:
    return {"id": policy.id, "version": policy.version, "effective_date": policy.effective_date.isoformat(),
            "digest": policy.digest, "title": policy.title, "publisher": policy.publisher,
            "jurisdiction": policy.jurisdiction}


def detail(policy: Policy) -> dict:
    return {
        **summary(policy),
        "summary": policy.summary,
        "sources": [{"key": s.key, "title": s.title, "url": s.url, "supports": s.supports, "status": s.status,
                     "note": s.note} for s in policy.sources.values()],
        "parameters": [{"name": name, "value": policy.parameters[name], "status": note["status"],
                        "sources": list(note["sources"]), "note": note.get("note")}
                       for name, note in policy.parameter_notes.items()],
        "criteria": [{"id": c.id, "kind": c.kind.value, "title": c.title, "combine": c.combine,
                      "branches": [{"id": b.id, "title": b.title} for b in c.leaves] if c.combine else []}
                     for c in policy.criteria],
        "documentation_requirements": [d.to_wire() for d in policy.documentation_results],
    }


def bodies(library: Library) -> dict[str, str]:
    """Every policy response, serialised once at start-up: policies do not change while a process runs."""
    out = {"": dumps({"items": [summary(p) for p in library.policies.values()],
                      "default_policies": list(library.default_policies)})}
    out.update({pid: dumps(detail(p)) for pid, p in library.policies.items()})
    return out


@blp.route("")
class Policies(MethodView):
    @requires(*ROLES, action="policy.read")
    @blp.doc(summary="Every loaded policy")
    @blp.response(200, PolicyListSchema)
    def get(self):
        return Response(state().static_bodies["policies"][""], content_type=JSON)


@blp.route("/<policy_id>")
class PolicyById(MethodView):
    @requires(*ROLES, action="policy.read")
    @blp.doc(summary="One policy: sources (with `unconfirmed` marks), parameters and criteria")
    @blp.response(200, PolicySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, policy_id: str):
        body = state().static_bodies["policies"].get(policy_id) if policy_id else None
        if body is None:
            raise Problem(404, f"No policy has the id {policy_id!r}; GET /v1/policies lists them.")
        return Response(body, content_type=JSON)
