"""The HTTP API: a Flask app that translates HTTP to the service layer (``services``) and back.

Run it with ``tms-eligibility serve`` (gunicorn, SQLite by default), or give gunicorn
``"api:create_app()"``. Configuration is read from the environment; see ``api.config``.
``create_app`` is where the layers meet: it loads the policies, connects the database (``storage``)
and hands the views a unit-of-work factory; the views themselves never import ``storage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

import eligibility
import storage
from services.documents import dumps
from storage import migrate

from . import (
    access,
    audit,
    cds_hooks,
    courses,
    docs,
    evaluations,
    fhir,
    headers,
    health,
    keys,
    logs,
    openapi,
    page,
    policies,
    reviews,
)
from . import config as settings
from .body import refuse_nul_in_url
from .errors import register_error_handlers
from .state import EXTENSION, AppState


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app: load and register every policy, connect the database, wire routes and errors.

    :param config: settings that win over the environment (tests pass ``DATABASE_URL`` and friends).
    :raises eligibility.InvalidPolicy: if any policy file is bad; the service never starts half-loaded.
    """
    values = {**settings.defaults(), **settings.from_environ(), **(config or {})}
    instance_path = values["INSTANCE_PATH"]
    app = Flask(__name__, instance_path=str(Path(instance_path).resolve()) if instance_path else None)
    app.config.from_mapping(values)
    app.config.update(openapi.settings(eligibility.__version__))
    logs.configure(app.config["LOG_LEVEL"])

    library = eligibility.load_library(app.config["RULES_DIR"], app.config["DEFAULT_POLICIES"])
    url = app.config["DATABASE_URL"] or settings.sqlite_url(app.instance_path)
    database = storage.Database(storage.create_engine(url, app.config["SQLITE_BUSY_TIMEOUT"]))
    state = app.extensions[EXTENSION] = AppState(library, database.unit_of_work, migrate.head(), database)

    headers.init_app(app)  # first: its after_request runs last, on every response
    logs.init_app(app)
    app.before_request(refuse_nul_in_url)  # after logs (a problem carries the request id), before any lookup
    access.init_app(app)  # after logs: a refusal carries the request id
    register_error_handlers(app)
    api = openapi.OpenApi(app)
    for blueprint in (evaluations.blp, fhir.blp, reviews.blp, courses.blp, policies.blp, keys.blp, audit.blp,
                      health.blp, cds_hooks.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    page.init_app(app)
    state.static_bodies = {"policies": policies.bodies(library),
                           "openapi": dumps(openapi.document(api, library, app))}
    return app
