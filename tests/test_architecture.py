"""The layering the code relies on, checked on the source: imports run one way, from the edges inward.

    api (views, review page, command line)  ->  services (use cases)  ->  eligibility (the domain)
          \\-> storage, in the composition roots only  -/  (storage implements services' unit of work)

- ``eligibility`` is the domain: no web framework, no database, no service layer. Its ``__main__.py`` is
  not part of the domain but an entry point of the one command line (``python -m eligibility`` runs
  ``api.cli``), so it is the one module there allowed to import ``api``.
- ``services`` owns the use cases and the unit-of-work port: no ``api``, no Flask, no ``storage``, no
  SQLAlchemy (the in-memory unit of work is its own).
- ``storage`` is the SQLAlchemy adapter of that port: it may import ``services`` (the port it implements),
  never ``api`` or Flask.
- ``api`` translates HTTP (and the command line) to use cases: its view modules import ``services`` and
  never ``storage``; only the composition roots (``create_app`` and the command line's database commands)
  build the storage adapter.
- Only ``eligibility/engine.py`` imports durable-rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("eligibility", "services", "storage", "api")
WEB = {"flask", "werkzeug", "flask_smorest", "webargs", "apispec", "gunicorn"}
DATABASE = {"sqlalchemy", "alembic", "psycopg"}
DURABLE = {"durable", "durable_rules_engine"}

# The modules where the layers are put together: they alone may build the storage adapter.
COMPOSITION_ROOTS = {"api/__init__.py", "api/cli/service.py"}
# Where ``python -m eligibility`` lands: an entry point of the command line, not the domain.
DOMAIN_ENTRY_POINT = "eligibility/__main__.py"


def imports(path: Path) -> set[str]:
    """The top-level packages a module imports (relative imports stay inside its own package)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> dict[str, set[str]]:
    return {path.relative_to(ROOT).as_posix(): imports(path) for path in (ROOT / package).rglob("*.py")}


def test_the_domain_imports_no_web_framework_database_service_layer_or_api():
    for name, imported in modules("eligibility").items():
        if name == DOMAIN_ENTRY_POINT:
            assert imported == {"api"}, "eligibility/__main__.py only forwards to the command line"
            continue
        assert not imported & (WEB | DATABASE | {"api", "services", "storage"}), name


def test_the_service_layer_imports_no_api_web_framework_or_storage():
    for name, imported in modules("services").items():
        assert not imported & (WEB | DATABASE | {"api", "storage"}), name


def test_storage_imports_no_api_or_web_framework():
    for name, imported in modules("storage").items():
        assert not imported & (WEB | {"api"}), name


def test_views_use_the_service_layer_and_never_storage():
    api = modules("api")
    assert set(api) >= COMPOSITION_ROOTS
    for name, imported in api.items():
        if name not in COMPOSITION_ROOTS:
            assert "storage" not in imported, f"{name} imports storage: views reach data through services"
    views = {name for name in api if "Blueprint(" in (ROOT / name).read_text()}
    assert {"api/evaluations.py", "api/reviews.py", "api/keys.py", "api/audit.py", "api/page/routes.py"} <= views
    for name in views - {"api/docs.py"}:  # the docs page serves a document made at start-up, no use case
        assert "services" in api[name], f"{name} defines routes without the service layer"


def test_only_the_engine_adapter_imports_durable_rules():
    users = {name for package in PACKAGES for name, imported in modules(package).items() if imported & DURABLE}
    assert users == {"eligibility/engine.py"}
