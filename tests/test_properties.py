"""Invariants over generated submissions, for every loaded policy.

The generator gives each fact in one form only (weeks either as duration_weeks or as dates,
episode either stated or derivable from dates), so that "masking a fact" means removing
everything the submission says about it.
"""

import copy
import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility import EngineError

from .support import CLASSIC, contract_determination, resolve, shared_library

AS_OF = date(2026, 11, 2)
DRUGS = ["sertraline", "fluoxetine", "escitalopram", "venlafaxine", "duloxetine", "bupropion", "mirtazapine",
         "nortriptyline", "amitriptyline", "phenelzine", "vortioxetine", "trazodone", "aripiprazole", "lithium",
         "quetiapine", "notadrugamine"]
CODES = ["F32.0", "F32.1", "F32.2", "F32.3", "F32.9", "F33.0", "F33.1", "F33.2", "F33.3", "F33.41", "F32.A",
         "F31.81", "F25.0", "F41.1", "G40.909"]
# The safety screen is what the loaded therapies declare (their metadata, not a list of TMS fields here).
SAFETY = sorted({name for therapy in shared_library().therapies.values() for name in therapy.safety_fields})
IMPLANT_KINDS = ["deep_brain_stimulator", "spinal_cord_stimulator", "other_neurostimulator", "cochlear_implant",
                 "aneurysm_clip", "metal_fragment", "pacemaker"]
OUTCOMES = ["no_response", "partial_response", "response", "remission", "intolerance", "ongoing", "unknown"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def days_before(low=0, high=2000):
    return st.integers(low, high).map(lambda d: (AS_OF - timedelta(days=d)).isoformat())


def optional(strategy):
    return st.one_of(st.none(), strategy)


def drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def medication_trial(draw):
    trial = {"drug": draw(st.sampled_from(DRUGS)),
             "daily_dose_mg": draw(optional(st.sampled_from([5, 10, 20, 25, 50, 75, 150, 200, 300, 450]))),
             "role": draw(optional(st.sampled_from(["monotherapy", "augmentation"]))),
             "outcome": draw(optional(st.sampled_from(OUTCOMES))),
             "adherence_percent": draw(optional(st.sampled_from([50, 79, 80, 95, 100]))),
             "dose_limited_by_tolerability": draw(optional(st.booleans())),
             "improvement_percent": draw(optional(st.sampled_from([-10, 0, 20, 24, 25, 49, 50, 60])))}
    if draw(st.booleans()):
        trial["duration_weeks"] = draw(optional(st.sampled_from([1, 3.9, 4, 5.9, 6, 7.9, 8, 12])))
    else:
        start = draw(st.integers(60, 900))
        trial["start_date"] = (AS_OF - timedelta(days=start)).isoformat()
        trial["end_date"] = (AS_OF - timedelta(days=start - draw(st.integers(0, 59)))).isoformat()
    if "start_date" not in trial:
        trial["episode"] = draw(optional(st.sampled_from(["current", "previous"])))
    return drop_none(trial)


@st.composite
def submission(draw):
    document = {"as_of": AS_OF.isoformat(), "patient": drop_none({
        "age": draw(optional(st.integers(10, 90))), "pregnant": draw(optional(st.booleans()))})}
    episode = drop_none({"onset": draw(optional(days_before(30, 1500))),
                         "severity": draw(optional(st.sampled_from(["mild", "moderate", "severe"]))),
                         "psychotic_features": draw(optional(st.booleans())),
                         "ect_candidate": draw(optional(st.booleans()))})
    if episode or draw(st.booleans()):
        document["current_episode"] = episode
    optional_lists = {
        "diagnoses": st.lists(st.sampled_from(CODES).map(lambda c: {"code": c}), max_size=3),
        "scales": st.lists(st.fixed_dictionaries({
            "instrument": st.sampled_from(["phq-9", "hamd-17", "madrs"]), "score": st.integers(0, 27),
            "date": days_before(0, 200)}), max_size=3),
        "medication_trials": st.lists(medication_trial(), max_size=6),
        "psychotherapy_trials": st.lists(st.fixed_dictionaries({
            "modality": st.sampled_from(["cbt", "ipt", "supportive", "other"]),
            "outcome": st.sampled_from(["no_response", "partial_response", "response", "discontinued", "unknown"]),
            "duration_weeks": st.sampled_from([4, 8, 12, 16]), "episode": st.sampled_from(["current", "previous"]),
        }), max_size=2),
        "ect_courses": st.lists(st.fixed_dictionaries({
            "episode": st.sampled_from(["current", "previous"]),
            "outcome": st.sampled_from(["no_response", "response", "ongoing"])}), max_size=1),
        "tms_courses": st.lists(st.fixed_dictionaries({
            "end_date": days_before(10, 900), "improvement_percent": st.sampled_from([10, 25, 50, 51, 70]),
            "episode": st.sampled_from(["current", "previous"])}), max_size=1),
    }
    for name, strategy in optional_lists.items():
        value = draw(optional(strategy))
        if value is not None:
            document[name] = value
    safety = draw(optional(st.fixed_dictionaries({}, optional={f: st.booleans() for f in SAFETY})))
    if safety is not None:
        implants = draw(optional(st.lists(st.fixed_dictionaries(
            {"kind": st.sampled_from(IMPLANT_KINDS)},
            optional={"location": st.sampled_from(["head", "neck", "chest", "back", "limb"])}), max_size=2)))
        document["safety"] = safety if implants is None else {**safety, "implants": implants}
    if draw(st.booleans()):
        document["request"] = {"kind": draw(st.sampled_from(["initial", "retreatment", "maintenance"])),
                               "protocol": draw(st.sampled_from(["rtms_10hz", "itbs", "deep_tms", "accelerated"])),
                               "sessions": draw(st.sampled_from([20, 25, 30, 36, 41, 44]))}
    if draw(st.booleans()):
        document["ordering_clinician"] = {"role": draw(st.sampled_from(["psychiatrist", "other_physician"]))}
    return document


@st.composite
def near_classic(draw):
    """The classic case that meets every policy, with some of its members dropped or its answers unknown,
    and up to two generated trials added: without it, generated submissions almost never meet a policy,
    and the properties about ``meets_criteria`` would go unexercised."""
    document = copy.deepcopy(CLASSIC)
    for name in draw(st.sets(st.sampled_from(sorted(set(CLASSIC) - {"as_of", "patient"})), max_size=3)):
        del document[name]
    if "safety" in document:
        for name in draw(st.sets(st.sampled_from(SAFETY), max_size=3)):
            del document["safety"][name]
    if "medication_trials" in document:
        document["medication_trials"] += draw(st.lists(medication_trial(), max_size=2))
    return document


def documents():
    return st.one_of(submission(), near_classic())


def results(document) -> dict:
    library = shared_library()
    document = {**document, "policies": sorted(library.policies)}
    return {r.policy.id: r.to_wire() for r in library.evaluate(library.load(document, today=AS_OF)).results}


@SETTINGS
@given(document=documents())
def test_every_policy_decides_every_criterion_exactly_once(document):
    try:
        outcome = results(document)
    except EngineError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"a policy's rules leave a gap or overlap: {exc}")
    for result in outcome.values():
        for criterion in result["criteria"]:
            for pointer in criterion["evidence"]:
                resolve(document, pointer)


@SETTINGS
@given(document=documents())
def test_the_determination_follows_from_the_criterion_statuses(document):
    for result in results(document).values():
        assert result["determination"] == contract_determination((c["kind"], c["status"]) for c in result["criteria"])
        unknown = [c["id"] for c in result["criteria"] if c["status"] == "unknown"]
        needed = {m["needed_for"] for m in result["missing_information"]}
        assert set(unknown) == needed, "each unknown criterion names what would settle it, and only those"


QUALIFYING_TRIAL = {"drug": "sertraline", "daily_dose_mg": 200, "duration_weeks": 12, "episode": "current",
                    "role": "monotherapy", "outcome": "no_response", "adherence_percent": 100,
                    "dose_limited_by_tolerability": True, "improvement_percent": 0}


@SETTINGS
@given(document=documents())
def test_adding_a_qualifying_failed_trial_never_undoes_meets_criteria(document):
    before = results(document)
    more = copy.deepcopy(document)
    more["medication_trials"] = [*more.get("medication_trials", []), QUALIFYING_TRIAL]
    after = results(more)
    for policy_id, result in before.items():
        if result["determination"] == "meets_criteria":
            assert after[policy_id]["determination"] == "meets_criteria", policy_id


def maskings(document):
    """Every way of forgetting one fact the document states (with every form it is stated in)."""
    def without(path, *also):
        masked = copy.deepcopy(document)
        for p in (path, *also):
            *parents, leaf = p
            node = masked
            for key in parents:
                node = node.get(key) if isinstance(node, dict) else node[key]
                if node is None:
                    break
            else:
                if isinstance(node, dict):
                    node.pop(leaf, None)
        return masked

    patient = document.get("patient", {})
    if patient.get("age") is not None:
        yield "age", without(("patient", "age"))
    if patient.get("pregnant") is not None:
        yield "pregnant", without(("patient", "pregnant"))
    episode = document.get("current_episode", {})
    for key in ("onset", "psychotic_features", "ect_candidate"):
        if key in episode:
            yield f"current_episode.{key}", without(("current_episode", key))
    if "severity" in episode or "scales" in document:
        yield "severity", without(("current_episode", "severity"), ("scales",))
    for name in ("diagnoses", "scales", "medication_trials", "psychotherapy_trials", "ect_courses", "tms_courses",
                 "safety", "ordering_clinician"):
        if name in document and not (name == "scales" and "severity" in episode):  # see "severity" above
            yield name, without((name,))
    # Facts that can contradict each other are forgotten together: a recorded improvement and the outcome
    # label it may contradict (principle 5), a stated episode and the dates that may contradict it
    # (principle 4), a stated severity and the scores (principle 11). Forgetting one side of a
    # contradiction alone rightly lets the other side decide, which is more certain, not less.
    for i, trial in enumerate(document.get("medication_trials", [])):
        for key in ("daily_dose_mg", "adherence_percent", "dose_limited_by_tolerability"):
            if key in trial:
                yield f"medication_trials.{i}.{key}", without(("medication_trials", i, key))
        if "outcome" in trial or "improvement_percent" in trial:
            yield f"medication_trials.{i}.outcome", without(("medication_trials", i, "outcome"),
                                                            ("medication_trials", i, "improvement_percent"))
        if "duration_weeks" in trial:
            yield f"medication_trials.{i}.duration_weeks", without(("medication_trials", i, "duration_weeks"))
        if {"start_date", "end_date", "episode"} & set(trial):
            yield f"medication_trials.{i}.episode", without(("medication_trials", i, "start_date"),
                                                            ("medication_trials", i, "end_date"),
                                                            ("medication_trials", i, "episode"))
    for key in document.get("safety", {}):
        yield f"safety.{key}", without(("safety", key))


# Forgetting a fact never reverses a verdict: a met criterion never becomes not met, nor the reverse,
# and a positive determination never becomes a negative one or the reverse. It may turn a verdict
# unknown; and where the forgotten fact contradicted another (a stated severity and a score, an outcome
# label and its recorded improvement, a stated episode and the trial's dates, a stated severity and the
# one its ICD-10-CM code carries), forgetting it may settle an unknown, because the other now decides
# alone. (Before the corrected policies, "forgetting only turns statuses unknown" held; doubt from
# contradictions made it false.)
OPPOSITE = {"met": "not_met", "not_met": "met", "unknown": None}
POSITIVE, NEGATIVE = {"meets_criteria"}, {"does_not_meet_criteria", "contraindicated"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_forgetting_a_fact_never_reverses_a_verdict(document):
    before = results(document)
    for what, masked in maskings(document):
        after = results(masked)
        for policy_id, result in before.items():
            now = after[policy_id]
            was_status = {c["id"]: c["status"] for c in result["criteria"]}
            for criterion in now["criteria"]:
                assert criterion["status"] != OPPOSITE[was_status[criterion["id"]]], (
                    f"{policy_id}: forgetting {what} turned {criterion['id']} from "
                    f"{was_status[criterion['id']]} into {criterion['status']}")
            was, is_now = result["determination"], now["determination"]
            assert not (was in POSITIVE and is_now in NEGATIVE or was in NEGATIVE and is_now in POSITIVE), (
                f"{policy_id}: forgetting {what} turned {was} into {is_now}")


IMPLANT_LISTS = [None, [], [{"kind": "deep_brain_stimulator"}], [{"kind": "spinal_cord_stimulator"}],
                 [{"kind": "other_neurostimulator"}], [{"kind": "cochlear_implant"}], [{"kind": "aneurysm_clip"}],
                 [{"kind": "metal_fragment"}], [{"kind": "metal_fragment", "location": "limb"}],
                 [{"kind": "pacemaker"}], [{"kind": "other", "location": "neck"}]]


@pytest.mark.parametrize("policy_id", sorted(shared_library().policies))
def test_every_safety_screen_and_implant_list_is_decided(policy_id):
    """Every combination of the implant booleans (yes, no, not screened) and an implant list (none given,
    empty, one implant of each group, with or without a location) gets a decision: no rule set has a hole."""
    library = shared_library()
    therapy = library.policy(policy_id).therapy
    booleans = [g.boolean for g in (therapy.implants.groups if therapy.implants else ())
                if g.boolean and g.contraindicated_at_site]
    for values in itertools.product([None, True, False], repeat=len(booleans)):
        for implants in IMPLANT_LISTS if therapy.implants else [None]:
            safety = {name: value for name, value in zip(booleans, values, strict=True) if value is not None}
            if implants is not None:
                safety["implants"] = implants
            document = {"as_of": "2026-11-02", "patient": {}, "safety": safety, "policies": [policy_id]}
            library.evaluate(library.load(document, today=AS_OF))  # an EngineError fails the test
