"""The app factory: configuration from defaults, the environment and the caller, and no half-started app."""

from __future__ import annotations

import json
import shutil

import pytest

from api import config, create_app
from eligibility import InvalidPolicy
from eligibility.library import DEFAULT_RULES_DIR


def test_the_factory_honours_the_config_it_is_given(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}", "MAX_CONTENT_LENGTH": 10})
    assert app.config["MAX_CONTENT_LENGTH"] == 10
    assert str(app.extensions["tms-eligibility"].database.engine.url).endswith("a.sqlite3")


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TMS_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("TMS_DEFAULT_POLICIES", " tms-clinical ,")
    monkeypatch.setenv("TMS_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.extensions["tms-eligibility"].library.default_policies == ("tms-clinical",)
    assert app.extensions["tms-eligibility"].database.engine.url.database == str(tmp_path / "inst" /
                                                                              "tms-eligibility.sqlite3")


def test_a_bad_setting_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("TMS_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="TMS_MAX_BODY_BYTES"):
        create_app()


def test_a_bad_policy_file_stops_the_app_from_starting(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    broken = rules / "tms-clinical" / "1.0.0.json"
    document = json.loads(broken.read_text())
    del document["criteria"]
    broken.write_text(json.dumps(document))
    with pytest.raises(InvalidPolicy):
        create_app({"RULES_DIR": str(rules), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_every_setting_is_documented_with_an_environment_variable():
    for setting in config.SETTINGS + config.SERVE_SETTINGS:
        assert setting.env and setting.doc


def test_the_api_package_holds_no_app_at_module_level():
    import sys

    from flask import Flask

    create_app({"DATABASE_URL": "sqlite://"})
    modules = [m for name, m in sys.modules.items() if name == "api" or name.startswith("api.")]
    assert len(modules) > 5
    assert not any(isinstance(value, Flask) for m in modules for value in vars(m).values())


def test_the_domain_does_not_import_flask():
    """Every module of the domain imported (but ``__main__``, the command line's entry point): no web framework,
    no service layer, no database."""
    import subprocess
    import sys

    code = ("import importlib, pkgutil, sys, eligibility\n"
            "for m in pkgutil.walk_packages(eligibility.__path__, 'eligibility.'):\n"
            "    if m.name != 'eligibility.__main__':\n"
            "        importlib.import_module(m.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'werkzeug', 'api', 'services', 'storage', 'sqlalchemy')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_the_operations_guide_documents_every_environment_variable():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    for setting in config.SETTINGS + config.SERVE_SETTINGS:
        assert f"| `{setting.env}` |" in guide, setting.env
