"""Policy files are refused at load, with the file and the field named, when anything is wrong."""

import copy
import hashlib
import json
from pathlib import Path

import pytest

from eligibility import InvalidPolicy, load_library
from eligibility.library import rules_dir
from eligibility.policy import compile_policy, digest_of, load_policy

from .support import copy_rules_base

CLINICAL = rules_dir() / "tms-clinical" / "1.0.0.json"


@pytest.fixture
def document():
    return json.loads(CLINICAL.read_text())


def refused(document, tmp_path) -> str:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidPolicy) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
    return str(caught.value)


def age_rule(document, name="age-adult"):
    criterion = next(c for c in document["criteria"] if c["id"] == "age")
    return criterion["rules"][name]


def test_the_clinical_policy_loads(document):
    policy = compile_policy(document)
    assert policy.ruleset_name == "tms-clinical@1.0.0"
    assert policy.digest == digest_of(document)


def test_the_digest_is_sha256_of_canonical_json(document):
    reordered = json.loads(json.dumps(document, sort_keys=True))
    assert digest_of(reordered) == digest_of(document)
    changed = copy.deepcopy(document)
    changed["parameters"]["adult_age"]["value"] = 19
    assert digest_of(changed) != digest_of(document)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest_of(document) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_an_unknown_criterion_kind_is_refused(document, tmp_path):
    document["criteria"][0]["kind"] = "preference"
    assert "/criteria/0/kind" in refused(document, tmp_path)


def test_a_missing_source_is_refused(document, tmp_path):
    document["criteria"][1]["sources"].append("nowhere-2024")
    message = refused(document, tmp_path)
    assert "/criteria/1/sources" in message and "nowhere-2024" in message


def test_a_rule_on_an_unknown_fact_field_is_refused_with_a_suggestion(document, tmp_path):
    age_rule(document)["when"] = {"$gte": {"agee": 18}}
    message = refused(document, tmp_path)
    assert "age-adult" in message and "'agee'" in message and "did you mean 'age'" in message


def test_an_unknown_parameter_is_refused(document, tmp_path):
    age_rule(document)["when"] = {"$gte": {"age": {"$param": "adult_years"}}}
    assert "unknown parameter 'adult_years'" in refused(document, tmp_path)


def test_an_unknown_placeholder_is_refused(document, tmp_path):
    age_rule(document)["reason"] = "Age {patient_age} is fine."
    assert "{patient_age}" in refused(document, tmp_path)


def test_an_unsupported_operator_is_refused(document, tmp_path):
    age_rule(document)["when"] = {"$iany": {"age": 18}}
    assert "$iany" in refused(document, tmp_path)


def test_a_rule_that_can_never_fire_is_refused(document, tmp_path):
    age_rule(document)["when"] = {"$and": [{"$gte": {"age": 18}}, {"$lt": {"age": 15}}]}
    assert "can never hold" in refused(document, tmp_path)


def test_an_unknown_rule_without_missing_information_is_refused(document, tmp_path):
    del age_rule(document, "age-not-given")["missing"]
    assert "must say what information is missing" in refused(document, tmp_path)


def test_a_criterion_no_rule_can_meet_is_refused(document, tmp_path):
    criterion = next(c for c in document["criteria"] if c["id"] == "age")
    for name in ("age-adult", "age-adolescent"):
        del criterion["rules"][name]
    assert "no rule can make it met" in refused(document, tmp_path)


def test_every_problem_is_reported_at_once(document, tmp_path):
    document["criteria"][0]["sources"] = ["nowhere"]
    age_rule(document)["reason"] = "{nothing}"
    message = refused(document, tmp_path)
    assert "nowhere" in message and "{nothing}" in message


def test_the_library_refuses_to_load_half_a_rules_directory(document, tmp_path):
    copy_rules_base(tmp_path)
    (tmp_path / "tms-clinical").mkdir()
    (tmp_path / "tms-clinical" / "1.0.0.json").write_text(json.dumps(document))
    broken = copy.deepcopy(document)
    broken["id"] = "tms-broken"
    broken["criteria"][0]["kind"] = "preference"
    (tmp_path / "tms-broken").mkdir()
    (tmp_path / "tms-broken" / "1.0.0.json").write_text(json.dumps(broken))
    with pytest.raises(InvalidPolicy, match="tms-broken"):
        load_library(tmp_path)


def test_a_file_must_sit_at_its_id_and_version(document, tmp_path):
    copy_rules_base(tmp_path)
    (tmp_path / "tms-clinical").mkdir()
    (tmp_path / "tms-clinical" / "2.0.0.json").write_text(json.dumps(document))
    with pytest.raises(InvalidPolicy, match="must match"):
        load_library(tmp_path)


def test_the_schema_file_is_valid_json_schema():
    import jsonschema

    schema = json.loads((Path(rules_dir()) / "policy.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
