"""Determinations, Kleene logic and the explanation of every result."""

import itertools

import pytest

from eligibility.evaluation import all_of, any_of, determine
from eligibility.model import Kind, Status
from services.documents import evaluation_document

from .support import classic, contract_determination, example, resolve

M, N, U = Status.MET, Status.NOT_MET, Status.UNKNOWN


@pytest.mark.parametrize(("statuses", "expected"), [
    ((M, N), M), ((M, U), M), ((N, N), N), ((N, U), U), ((U, U), U),
])
def test_any_of_is_kleene_or(statuses, expected):
    assert any_of(statuses) == expected
    assert any_of(reversed(statuses)) == expected


@pytest.mark.parametrize(("statuses", "expected"), [
    ((M, M), M), ((M, U), U), ((M, N), N), ((N, U), N), ((U, U), U),
])
def test_all_of_is_kleene_and(statuses, expected):
    assert all_of(statuses) == expected
    assert all_of(reversed(statuses)) == expected


@pytest.mark.parametrize("combination", list(itertools.product(Kind, Status, Kind, Status)))
def test_the_determination_follows_the_contract_precedence(combination):
    pairs = [(combination[0], combination[1]), (combination[2], combination[3])]
    assert determine(pairs).value == contract_determination((k.value, s.value) for k, s in pairs)


def test_the_classic_example_meets_the_clinical_criteria(library):
    result = library.evaluate(library.load(example("classic-trd"))).result("tms-clinical").to_wire()
    assert result["determination"] == "meets_criteria"
    assert result["missing_information"] == []
    failure = next(c for c in result["criteria"] if c["id"] == "antidepressant-failure")
    assert "sertraline 150 mg/day for 10 weeks, no response" in failure["reason"]
    assert failure["evidence"] == ["/medication_trials/0", "/medication_trials/1"]


def test_the_aneurysm_clip_example_is_contraindicated(library):
    result = library.evaluate(library.load(example("aneurysm-clip"))).result("tms-clinical").to_wire()
    assert result["determination"] == "contraindicated"
    metal = next(c for c in result["criteria"] if c["id"] == "no-intracranial-metal")
    assert metal["status"] == "not_met" and metal["evidence"] == ["/safety/intracranial_metal"]


def test_the_incomplete_referral_names_what_is_missing(library):
    result = library.evaluate(library.load(example("incomplete-referral"))).result("tms-clinical").to_wire()
    assert result["determination"] == "insufficient_information"
    fields = {m["field"] for m in result["missing_information"]}
    assert {"/current_episode/severity", "/scales", "/current_episode/psychotic_features", "/safety/intracranial_metal",
            "/safety/cochlear_implant", "/safety/implanted_neurostimulator"} <= fields
    assert all(m["needed_for"] and m["detail"] for m in result["missing_information"])


@pytest.mark.parametrize("name", ["classic-trd", "aneurysm-clip", "incomplete-referral"])
def test_every_evidence_pointer_resolves_into_the_submission(library, name):
    document = example(name)
    for result in (r.to_wire() for r in library.evaluate(library.load(document)).results):
        for criterion in result["criteria"]:
            assert criterion["reason"] and criterion["sources"]
            for pointer in criterion["evidence"]:
                resolve(document, pointer)


def test_cautions_are_reported_without_changing_the_determination(evaluate):
    document = classic()
    document["safety"] = {**document["safety"], "cardiac_device": True, "active_suicidal_intent": True}
    result = evaluate(document)
    assert result["determination"] == "meets_criteria"
    cautions = {c["id"]: c for c in result["cautions"]}
    assert set(cautions) == {"cardiac-device", "active-suicidal-intent"}
    assert "urgent care" in cautions["active-suicidal-intent"]["detail"]
    assert all(c["sources"] for c in cautions.values())


def test_an_unknown_drug_is_reported_as_a_warning(library):
    document = {**classic(), "medication_trials": [{"drug": "notadrugamine", "daily_dose_mg": 10}]}
    evaluation = library.evaluate(library.load(document))
    assert [sorted(w.to_wire()) for w in evaluation.warnings] == [["detail", "field"]]
    assert evaluation.warnings[0].field == "/medication_trials/0/drug"
    assert "notadrugamine" in evaluation.warnings[0].detail


def test_a_diagnosis_code_no_policy_reads_is_kept_and_reported(library):
    document = {**classic(), "diagnoses": [{"code": "F33.2"}, {"code": "F411"}]}
    evaluation = library.evaluate(library.load(document))
    assert [w.field for w in evaluation.warnings] == ["/diagnoses/1/code"]
    assert "F41.1" in evaluation.warnings[0].detail
    assert evaluation.result("tms-clinical").determination == "meets_criteria"


def test_missing_information_is_listed_even_when_the_verdict_is_negative(evaluate):
    document = {**classic(), "current_episode": {"severity": "mild"}, "safety": {}}
    result = evaluate(document)
    assert result["determination"] == "does_not_meet_criteria"
    assert "/safety/intracranial_metal" in {m["field"] for m in result["missing_information"]}


def test_the_result_document_has_the_contract_shape(library):
    evaluation = library.evaluate(library.load(example("classic-trd")))
    document = evaluation_document(evaluation, "abc", "2026-11-02T10:00:00Z")
    assert list(document)[:7] == ["id", "created_at", "as_of", "reference", "results", "review", "warnings"]
    assert document["review"] == {"status": "pending"}
    result = document["results"][0]
    assert set(result) >= {"policy", "determination", "criteria", "missing_information", "cautions",
                           "documentation_requirements", "measures"}
    assert set(result["policy"]) >= {"id", "version", "title", "digest"}
    assert result["policy"]["digest"].startswith("sha256:")
    for criterion in result["criteria"]:
        assert set(criterion) >= {"id", "kind", "title", "status", "reason", "evidence", "sources"}
