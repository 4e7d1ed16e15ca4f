"""``/healthz`` (the process answers) and ``/readyz`` (policies loaded, database reachable and migrated)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug import Response

from storage.store import DatabaseUnavailable

from .errors import Problem, problem_response
from .schemas import HealthSchema, NotReadyProblemSchema, ReadySchema
from .service import dumps, service

blp = Blueprint("health", __name__, description="Liveness and readiness for orchestrators.")

JSON = "application/json"


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(summary="Liveness: the process answers")
    @blp.response(200, HealthSchema)
    def get(self):
        return Response('{"status":"ok"}', content_type=JSON)


@blp.route("/readyz")
class Ready(MethodView):
    @blp.doc(summary="Readiness: policies loaded, database reachable and migrated")
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=NotReadyProblemSchema, content_type="application/problem+json",
                      description="Not ready; `checks` says why.")
    def get(self):
        svc = service()
        policies = {"ok": bool(svc.library.policies),
                    "detail": ", ".join(f"{p.id}@{p.version}" for p in svc.library.policies.values())}
        expected = svc.revision
        try:
            revision = svc.store.revision()
            database = {"ok": revision == expected,
                        "detail": f"at revision {revision}" + ("" if revision == expected else
                                                               f"; this code needs {expected}: run "
                                                               "`tms-eligibility db upgrade`")}
        except DatabaseUnavailable as exc:
            database = {"ok": False, "detail": f"unreachable ({exc})"}
        checks = {"policies": policies, "database": database}
        if policies["ok"] and database["ok"]:
            return Response(dumps({"status": "ready", "checks": checks}), content_type=JSON)
        document = Problem(503, "The service is not ready; see checks.", title="Not ready").document()
        document["checks"] = checks
        return problem_response(document)
