"""The drug catalogue: both file layouts, resolution, the label maxima a trial is held to, and integrity."""

import copy
import json
from pathlib import Path

import pytest

from eligibility.catalogue import Drug as CatalogueDrug
from eligibility.catalogue import load_catalogue
from eligibility.errors import InvalidPolicy
from eligibility.model import Drug

RULES = Path(__file__).resolve().parent.parent / "rules"
NEW = RULES / "catalogue" / "2026-12-01.json"


def first_catalogue_path() -> Path:
    """The 2026-11-25 file, wherever the tree keeps it (``rules/drugs.json`` before the catalogue folder)."""
    moved = RULES / "catalogue" / "2026-11-25.json"
    return moved if moved.is_file() else RULES / "drugs.json"


@pytest.fixture(scope="module")
def old():
    return load_catalogue(first_catalogue_path())


@pytest.fixture(scope="module")
def new():
    return load_catalogue(NEW)


def drug(catalogue, name):
    found = catalogue.resolve(name, None)
    assert found is not None, name
    return found


def values(candidates):
    return sorted(value for _, value in candidates)


# --- the first catalogue still loads as it did ---

def test_drug_stays_importable_from_the_model():
    assert Drug is CatalogueDrug


def test_the_first_catalogue_loads_unchanged(old):
    raw = {e["name"]: e for e in json.loads(first_catalogue_path().read_text())["drugs"]}
    assert old.version == "2026-11-25" and old.supersedes is None
    assert set(old.entries) == set(raw)
    for name, entry in raw.items():
        d = drug(old, name)
        assert (d.drug_class, d.classes) == (entry["class"], (entry["class"],)), name
        assert (d.min_adequate_mg, d.max_labelled_mg) == (entry["min_adequate_mg"], entry["max_labelled_mg"]), name
        assert dict(d.formulations) == {} and d.age_maxima == () and d.augments_only is None, name
        assert d.maximum_candidates("er", 70) == (("labelled maximum", entry["max_labelled_mg"]),), name


@pytest.mark.parametrize("which", ["old", "new"])
def test_drugs_resolve_by_generic_name_in_any_case_and_by_rxcui(which, request):
    catalogue = request.getfixturevalue(which)
    sertraline = catalogue.resolve("  Sertraline ", None)
    assert (sertraline.name, sertraline.drug_class, sertraline.category) == ("sertraline", "ssri", "antidepressant")
    assert catalogue.resolve(None, "15996").name == "mirtazapine"
    assert catalogue.resolve("notadrugamine", None) is None
    assert catalogue.resolve(None, "999999999") is None
    with pytest.raises(ValueError, match="different ingredients"):
        catalogue.resolve("sertraline", "15996")


# --- the new catalogue: what it covers ---

def test_the_new_catalogue_keeps_every_drug_of_the_first(old, new):
    assert set(old.entries) <= set(new.entries)
    assert new.version == "2026-12-01" and new.supersedes == old.version


@pytest.mark.parametrize("name, generic", [
    ("Auvelity", "dextromethorphan-bupropion"), ("Exxua", "gepirone"), ("Symbyax", "olanzapine-fluoxetine"),
    ("Spravato", "esketamine"), ("Caplyta", "lumateperone"), ("Effexor XR", "venlafaxine"), ("Paxil CR", "paroxetine"),
])
def test_brand_names_resolve_to_the_generic(new, name, generic):
    assert drug(new, name).name == generic


@pytest.mark.parametrize("name, year", [
    ("dextromethorphan-bupropion", 2022), ("gepirone", 2023), ("olanzapine-fluoxetine", None), ("esketamine", None),
])
def test_drugs_labelled_for_mdd_since_the_first_catalogue_are_there_and_labelled(new, name, year):
    assert drug(new, name).fda_mdd is True
    assert new.entries[name]["fda_mdd"]["year"] == year


def test_non_us_drugs_are_kept_and_say_they_are_not_fda_labelled(new):
    for name in ("agomelatine", "moclobemide"):
        d = drug(new, name)
        assert d.fda_mdd is False
        assert all(not f.us_marketed for f in d.formulations.values()), name


def test_the_catalogue_covers_every_class_a_policy_counts(new):
    classes = {c for d in new.by_name.values() for c in d.classes}
    assert {"ssri", "snri", "tca", "maoi", "ndri", "nassa", "sari", "multimodal", "serotonin_modulator",
            "atypical_antipsychotic", "lithium", "thyroid_hormone"} <= classes
    for d in new.by_name.values():
        assert d.category == new.classes[d.drug_class]["category"], d.name


# --- the maxima a trial is held to ---

def test_venlafaxine_er_is_held_to_225_and_ir_to_225_for_outpatients(new):
    venlafaxine = drug(new, "venlafaxine")
    assert venlafaxine.maximum_candidates("er", 45) == (("ER", 225),)
    assert venlafaxine.maximum_candidates("ir", 45) == (("IR", 225),)
    assert venlafaxine.formulations["ir"].max_mg == 375  # severely depressed inpatients only
    assert venlafaxine.formulations["er"].max_mg is None


def test_an_unknown_formulation_gives_one_candidate_per_marketed_formulation(new):
    assert values(drug(new, "paroxetine").maximum_candidates(None, 40)) == [50, 62.5]
    assert values(drug(new, "bupropion").maximum_candidates(None, 40)) == [400, 450]
    # the same maximum under every formulation is one candidate, naming them all
    assert drug(new, "venlafaxine").maximum_candidates(None, 40) == (("IR or ER", 225),)


def test_paroxetine_ir_is_held_to_50_and_cr_to_62_5(new):
    paroxetine = drug(new, "paroxetine")
    assert paroxetine.maximum_candidates("ir", 40) == (("IR, under 65", 50),)
    assert paroxetine.maximum_candidates("er", 40) == (("ER, under 65", 62.5),)


def test_citalopram_at_65_is_held_to_20(new):
    citalopram = drug(new, "citalopram")
    assert citalopram.maximum_candidates(None, 65) == (("IR, age 60 or over", 20),)
    assert values(citalopram.maximum_candidates("ir", 60)) == [20]
    assert values(citalopram.maximum_candidates("ir", 59)) == [40]


def test_an_unknown_age_gives_one_candidate_per_age_band(new):
    assert drug(new, "citalopram").maximum_candidates("ir", None) == (
        ("IR, under 60", 40), ("IR, age 60 or over", 20))
    assert values(drug(new, "gepirone").maximum_candidates(None, None)) == [36.3, 72.6]
    assert values(drug(new, "paroxetine").maximum_candidates(None, None)) == [40, 50, 62.5]


def test_desvenlafaxine_is_held_to_its_recommended_50(new):
    assert drug(new, "desvenlafaxine").maximum_candidates(None, 50) == (("ER", 50),)


def test_outpatient_and_inpatient_ceilings_are_kept_apart(new):
    trazodone, amitriptyline = drug(new, "trazodone"), drug(new, "amitriptyline")
    assert (trazodone.formulations["ir"].max_outpatient_mg, trazodone.formulations["ir"].max_mg) == (400, 600)
    assert (amitriptyline.formulations["ir"].max_outpatient_mg, amitriptyline.formulations["ir"].max_mg) == (150, 300)
    assert values(trazodone.maximum_candidates(None, 40)) == [400]
    assert values(amitriptyline.maximum_candidates(None, 40)) == [150]


def test_a_formulation_off_the_us_market_counts_only_when_the_trial_names_it(new):
    trazodone = drug(new, "trazodone")
    assert trazodone.maximum_candidates(None, 40) == (("IR", 400),)
    assert trazodone.maximum_candidates("er", 40) == (("ER", 375),)


def test_a_formulation_the_drug_is_not_marketed_in_is_treated_as_unknown(new):
    assert drug(new, "citalopram").maximum_candidates("transdermal", 40) == (("IR, under 60", 40),)


def test_no_maximum_is_none_never_zero(new):
    for name in ("lithium", "liothyronine", "fluvoxamine", "clomipramine"):
        candidates = drug(new, name).maximum_candidates(None, 40)
        assert candidates and all(value is None for _, value in candidates), name
    for d in new.by_name.values():
        for f in d.formulations.values():
            assert f.max_outpatient_mg is None or f.max_outpatient_mg > 0, d.name


def test_drugs_without_a_dose_threshold_have_none(new):
    for name in ("lithium", "esketamine"):
        assert drug(new, name).min_adequate_mg is None, name
        assert new.entries[name]["note"], name


def test_olanzapine_augments_fluoxetine_only(new):
    assert drug(new, "olanzapine").augments_only == ("fluoxetine",)
    assert drug(new, "aripiprazole").augments_only is None


def test_serotonin_modulators_share_a_class_under_one_source_only(new):
    trazodone, vortioxetine, sertraline = (drug(new, n) for n in ("trazodone", "vortioxetine", "sertraline"))
    assert trazodone.drug_class != vortioxetine.drug_class
    assert set(trazodone.classes) & set(vortioxetine.classes) == {"serotonin_modulator"}
    assert not set(trazodone.classes) & set(sertraline.classes)
    for name in ("trazodone", "nefazodone", "vilazodone", "vortioxetine"):
        assert "serotonin_modulator" in drug(new, name).classes, name


def test_every_class_assignment_cites_a_source(new):
    for name, entry in new.entries.items():
        assert entry["class_sources"], name
        for alternative in entry.get("class_alternatives", []):
            assert alternative["sources"], name
    for key, cls in new.classes.items():
        assert cls["sources"], key


# --- the loader's checks ---

@pytest.fixture
def write(tmp_path):
    base = json.loads(NEW.read_text())

    def make(change):
        doc = copy.deepcopy(base)
        change(doc)
        path = tmp_path / "catalogue.json"
        path.write_text(json.dumps(doc))
        return path

    return make


def entry_of(doc, name):
    return next(e for e in doc["drugs"] if e["name"] == name)


@pytest.mark.parametrize("change, problem", [
    (lambda d: entry_of(d, "citalopram").update(max_labelled_mg=40), "unknown key"),
    (lambda d: entry_of(d, "citalopram")["formulations"]["ir"].update(source="nowhere"), "'nowhere' is not in sources"),
    (lambda d: entry_of(d, "citalopram")["formulations"]["ir"].update(max_outpatient_mg=0), "positive number"),
    (lambda d: entry_of(d, "citalopram")["formulations"]["ir"].update(status="likely"), "status"),
    (lambda d: entry_of(d, "citalopram")["formulations"].update(xr={}), "code must be one of"),
    (lambda d: entry_of(d, "citalopram")["formulations"]["ir"].pop("max_outpatient_mg"), "required"),
    (lambda d: entry_of(d, "citalopram")["age_maxima"][0].update(formulation="er"), "not among the drug's"),
    (lambda d: entry_of(d, "trazodone")["class_alternatives"][0].update(sources=[]), "at least one source"),
    (lambda d: entry_of(d, "trazodone")["class_alternatives"][0].update({"class": "azapirone"}), "not in classes"),
    (lambda d: entry_of(d, "olanzapine").update(augments_only=["sertralin"]), "not in the catalogue"),
    (lambda d: entry_of(d, "sertraline")["aliases"].append("celexa"), "appears twice"),
    (lambda d: entry_of(d, "venlafaxine")["formulations"]["ir"].update(max_mg=200), "at least max_outpatient_mg"),
    (lambda d: d["sources"]["wikipedia-sari"].update(kind="blog"), "kind"),
    (lambda d: d["classes"]["sari"].update(sources=[]), "at least one source"),
    (lambda d: entry_of(d, "gepirone")["fda_mdd"].update(source=None), "fda_mdd.source"),
])
def test_the_loader_rejects_a_bad_new_catalogue_naming_the_field(write, change, problem):
    with pytest.raises(InvalidPolicy) as caught:
        load_catalogue(write(change))
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_the_loader_reports_every_problem_at_once(write):
    def two_problems(doc):
        entry_of(doc, "citalopram")["formulations"]["ir"].update(max_outpatient_mg=0)
        entry_of(doc, "sertraline").update(rxcui_status="maybe")

    with pytest.raises(InvalidPolicy) as caught:
        load_catalogue(write(two_problems))
    assert len(caught.value.problems) == 2


def test_the_first_layout_keeps_its_own_checks(tmp_path):
    doc = json.loads(first_catalogue_path().read_text())
    doc["drugs"][0]["max_labelled_source"] = "nowhere"
    path = tmp_path / "drugs.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidPolicy, match="max_labelled_source"):
        load_catalogue(path)
