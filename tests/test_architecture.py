"""The layering the code relies on: a framework-free domain, and one module for durable-rules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "eligibility"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_domain_never_imports_a_web_framework_or_the_api():
    for path in PACKAGE.rglob("*.py"):
        assert not imports(path) & {"flask", "werkzeug", "flask_smorest", "api", "sqlalchemy"}, path


def test_only_the_engine_adapter_imports_durable_rules():
    users = {path.name for path in PACKAGE.rglob("*.py") if imports(path) & {"durable", "durable_rules_engine"}}
    assert users == {"engine.py"}
