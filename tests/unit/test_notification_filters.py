"""Subscription filters: empty means any, levels by rank, categories by overlap, absent fields never match."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways_contracts.vocab import Category, Level, Program
from pathways_notification.domain.filters import Filter, matches

pytestmark = pytest.mark.unit

RED_FLAG = {"jurisdiction": "olmsted", "level": "red_flag", "categories": ["labor"], "indicator_codes": ["X"]}
INSPECTION = {"jurisdiction": "rochester", "program": "massage_establishment", "indicator_codes": []}


def test_empty_filter_matches_anything():
    assert matches(Filter(), "redflag.raised", RED_FLAG)
    assert matches(Filter(), "referral.accepted", {})


def test_jurisdictions():
    spec = Filter(jurisdictions={"olmsted"})
    assert matches(spec, "redflag.raised", RED_FLAG)
    assert not matches(spec, "redflag.raised", RED_FLAG | {"jurisdiction": "hennepin"})


def test_min_level_uses_the_rank_of_levels():
    assert matches(Filter(min_level=Level.CONCERN), "redflag.raised", RED_FLAG)
    assert matches(Filter(min_level=Level.RED_FLAG), "redflag.raised", RED_FLAG)
    assert not matches(Filter(min_level=Level.URGENT), "redflag.raised", RED_FLAG)


def test_categories_match_on_any_overlap_and_both_covers_sex_and_labor():
    assert matches(Filter(categories={Category.LABOR, Category.SEX}), "redflag.raised", RED_FLAG)
    assert not matches(Filter(categories={Category.SEX}), "redflag.raised", RED_FLAG)
    assert matches(Filter(categories={Category.SEX}), "redflag.raised", RED_FLAG | {"categories": ["both"]})
    assert matches(Filter(categories={Category.BOTH}), "redflag.raised", RED_FLAG)


def test_programs_match_the_program_field():
    assert matches(Filter(programs={Program.MASSAGE}), "inspection.completed", INSPECTION)
    assert not matches(Filter(programs={Program.FOOD}), "inspection.completed", INSPECTION)


def test_a_constraint_on_a_field_the_event_lacks_does_not_match():
    """A department that asked for its jurisdiction must not get another's events by omission."""
    referral_accepted = {"referral_id": "r", "case_id": "c", "agency_id": "a"}
    assert not matches(Filter(jurisdictions={"olmsted"}), "referral.accepted", referral_accepted)
    assert not matches(Filter(min_level=Level.NONE), "referral.accepted", referral_accepted)
    assert not matches(Filter(programs={Program.MASSAGE}), "redflag.raised", RED_FLAG)
    assert not matches(Filter(min_level=Level.CONCERN), "redflag.raised", RED_FLAG | {"level": "unheard_of"})


def test_a_filter_arrives_as_json_from_the_api():
    spec = Filter.model_validate({"min_level": "urgent", "categories": ["sex"]})
    assert spec.min_level is Level.URGENT and spec.categories == {Category.SEX}


# --- properties -----------------------------------------------------------------------------------

EVENT_TYPES = ["inspection.completed", "redflag.raised", "case.opened", "referral.accepted"]
JURISDICTIONS = ["olmsted", "rochester", "hennepin"]

events = st.fixed_dictionaries({}, optional={
    "jurisdiction": st.sampled_from(JURISDICTIONS),
    "program": st.sampled_from([p.value for p in Program]),
    "level": st.sampled_from([lv.value for lv in Level]),
    "categories": st.lists(st.sampled_from([c.value for c in Category]), max_size=3),
})


def _constraint(universe: list) -> st.SearchStrategy[frozenset]:
    # Mostly unconstrained, so that filters often match and a widening would show.
    return st.just(frozenset()) | st.frozensets(st.sampled_from(universe))


filters = st.builds(
    Filter,
    jurisdictions=_constraint(JURISDICTIONS),
    min_level=st.none() | st.sampled_from(list(Level)),
    categories=_constraint(list(Category)),
    programs=_constraint(list(Program)),
)


@settings(deadline=None)
@given(st.sampled_from(EVENT_TYPES), events)
def test_property_an_empty_filter_matches_everything(event_type, data):
    assert matches(Filter(), event_type, data)


@st.composite
def tightened(draw, loose: Filter) -> Filter:
    """A filter at least as strict as ``loose`` in every dimension."""
    def narrower(values: frozenset, universe: list) -> frozenset:
        """A subset of a constraint, or any constraint where there was none; never back to "any"."""
        subset = draw(st.frozensets(st.sampled_from(sorted(values) if values else universe)))
        return subset or values

    levels = [lv for lv in Level if loose.min_level is None or lv.rank >= loose.min_level.rank]
    return Filter(
        jurisdictions=narrower(loose.jurisdictions, JURISDICTIONS),
        min_level=draw(st.sampled_from(levels)) if loose.min_level is not None or draw(st.booleans()) else None,
        categories=narrower(loose.categories, list(Category)),
        programs=narrower(loose.programs, list(Program)),
    )


@settings(max_examples=500, deadline=None)  # no per-example time limit: the machine is shared
@given(st.data(), filters, st.sampled_from(EVENT_TYPES), events)
def test_property_adding_a_constraint_never_widens_matches(data, loose, event_type, event):
    strict = data.draw(tightened(loose))
    if matches(strict, event_type, event):
        assert matches(loose, event_type, event)
