"""``/healthz`` (the process answers) and ``/readyz`` (policies loaded, database reachable and migrated)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug import Response

from services.documents import dumps
from services.health import readiness

from .constants import JSON, PROBLEM_JSON
from .errors import Problem, problem_response
from .schemas.health import HealthSchema, NotReadyProblemSchema, ReadySchema
from .state import state

blp = Blueprint("health", __name__, description="Liveness and readiness for orchestrators.")


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
    @blp.alt_response(503, schema=NotReadyProblemSchema, content_type=PROBLEM_JSON,
                      description="Not ready; `checks` says why.")
    def get(self):
        s = state()
        ready = readiness(s.unit_of_work(), s.library, s.revision)
        if ready.ready:
            return Response(dumps({"status": "ready", "checks": ready.checks()}), content_type=JSON)
        document = Problem(503, "The service is not ready; see checks.", title="Not ready").document()
        document["checks"] = ready.checks()
        return problem_response(document)
