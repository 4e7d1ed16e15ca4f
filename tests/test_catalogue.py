"""The drug catalogue: resolution by name or RxCUI, and its integrity."""

import pytest


def test_drugs_resolve_by_generic_name_in_any_case(library):
    drug = library.catalogue.resolve("Sertraline", None)
    assert (drug.name, drug.drug_class, drug.category) == ("sertraline", "ssri", "antidepressant")


def test_drugs_resolve_by_rxnorm_ingredient_rxcui(library):
    assert library.catalogue.resolve(None, "15996").name == "mirtazapine"


def test_an_unknown_drug_resolves_to_nothing(library):
    assert library.catalogue.resolve("notadrugamine", None) is None
    assert library.catalogue.resolve(None, "999999999") is None


def test_a_name_and_rxcui_naming_different_drugs_is_an_error(library):
    with pytest.raises(ValueError, match="different ingredients"):
        library.catalogue.resolve("sertraline", "15996")


def test_every_catalogue_drug_has_a_known_class_and_sourced_doses(library):
    catalogue = library.catalogue
    for name, entry in catalogue.entries.items():
        assert entry["class"] in catalogue.classes, name
        for field in ("min_adequate", "max_labelled"):
            if entry.get(f"{field}_mg") is not None:
                assert entry[f"{field}_source"] in catalogue.sources, name
            assert entry[f"{field}_status"] in ("confirmed", "unconfirmed"), name
        minimum, maximum = entry.get("min_adequate_mg"), entry.get("max_labelled_mg")
        if minimum is not None and maximum is not None:
            assert minimum <= maximum, name


def test_the_catalogue_covers_every_class_a_policy_counts(library):
    classes = {d.drug_class for d in library.catalogue.by_name.values()}
    assert {"ssri", "snri", "tca", "maoi", "ndri", "nassa", "sari", "multimodal",
            "atypical_antipsychotic", "lithium", "thyroid_hormone"} <= classes
