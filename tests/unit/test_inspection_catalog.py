"""The shared indicator catalog: enough indicators, unique codes, valid programs, cited sources."""

import pytest
from pydantic import ValidationError

from pathways_contracts.catalog import Catalog, load_catalog
from pathways_contracts.vocab import Category, Dimension, Program

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_catalog_has_at_least_thirty_indicators(catalog):
    assert catalog.version == "v1"
    assert len(catalog.indicators) >= 30


def test_codes_are_unique(catalog):
    codes = [i.code for i in catalog.indicators]
    assert len(codes) == len(set(codes))


def test_every_indicator_cites_a_public_source(catalog):
    for indicator in catalog.indicators:
        assert indicator.source.url.startswith("https://"), indicator.code
        assert indicator.source.name, indicator.code


def test_every_program_may_record_several_indicators(catalog):
    for program in Program:
        assert len(catalog.for_program(program)) >= 5, program


def test_programs_categories_and_dimensions_are_vocabulary_values(catalog):
    for indicator in catalog.indicators:
        assert all(isinstance(p, Program) for p in indicator.programs)
        assert isinstance(indicator.category, Category)
        assert isinstance(indicator.dimension, Dimension)


def test_catalog_covers_both_categories_and_every_dimension(catalog):
    assert {i.category for i in catalog.indicators} == set(Category)
    assert {i.dimension for i in catalog.indicators} == set(Dimension)


@pytest.mark.parametrize(
    "code",
    [
        "VUL-MINOR-PRESENT",
        "VUL-LIVING-ON-SITE",
        "LAB-WAGE-THEFT",
        "OPS-ENTRY-REFUSED",
        "SEX-FORENSIC-LIGHT-POSITIVE",
        "REG-PRACTITIONER-UNLICENSED",
        "REG-LICENSE-HELD-BY-ABSENT",
        "OPS-DOCUMENTS-CONFISCATED",
        "OPS-DEBT-BONDAGE",
    ],
)
def test_brief_examples_are_in_the_catalog(catalog, code):
    assert code in catalog
    assert catalog.get(code).code == code


def test_unknown_code_raises_key_error_naming_it(catalog):
    with pytest.raises(KeyError, match="NOPE-NOT-A-CODE"):
        catalog.get("NOPE-NOT-A-CODE")


def test_load_catalog_is_cached():
    assert load_catalog("v1") is load_catalog("v1")


def test_unknown_version_is_a_lookup_error():
    with pytest.raises(LookupError):
        load_catalog("v999")


def test_duplicate_codes_are_rejected(catalog):
    first = catalog.indicators[0].model_dump()
    with pytest.raises(ValidationError, match="duplicate indicator codes"):
        Catalog.model_validate({"version": "x", "indicators": [first, first]})


def test_unknown_program_is_rejected(catalog):
    bad = catalog.indicators[0].model_dump() | {"programs": ["sauna"]}
    with pytest.raises(ValidationError):
        Catalog.model_validate({"version": "x", "indicators": [bad]})
