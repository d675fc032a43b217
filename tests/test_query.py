"""The typed contracts (saferhub.query): validated when built, picklable, JSON round-trips, and a
verb called with them gives exactly what the keyword form gives."""

import json
import pickle

import numpy as np
import pytest
from find_helpers import small_store  # noqa: F401


def test_event_query_is_canonical_and_validated():
    from saferhub.errors import SaferhubError
    from saferhub.query import EventQuery

    q = EventQuery(force="Merseyside Police", months="2020-01:2020-03", categories="grip")
    assert q.force == "merseyside"
    assert q.months == ("2020-01", "2020-02", "2020-03") and q.months_text == "2020-01..2020-03"
    assert q.categories[0] == "Violence and sexual offences" and "Anti-social behaviour" in q.categories
    # a (start, end) tuple is a range, as everywhere; replace() keeps a two-month list a list
    assert EventQuery(months=("2020-01", "2020-04")).months == ("2020-01", "2020-02", "2020-03", "2020-04")
    two = EventQuery(months="2020-01,2020-05")
    assert two.replace(force="cheshire").months == ("2020-01", "2020-05")
    with pytest.raises(SaferhubError, match="not a month"):
        EventQuery(months="2020-13")
    with pytest.raises(SaferhubError, match="unknown crime category"):
        EventQuery(categories="jaywalking")
    with pytest.raises(Exception):
        q.force = "cheshire"  # frozen


def test_unit_spec_is_validated():
    from saferhub.errors import SaferhubError
    from saferhub.query import UnitSpec

    assert UnitSpec(cell_size=150.0).cell_size == 150
    for bad in ({"units": "squares"}, {"cell_size": 5}, {"cell_size": 150.5}, {"hull": "round"}, {"snap": 0}):
        with pytest.raises(SaferhubError):
            UnitSpec(**bad)


def test_contracts_pickle_and_json_round_trip():
    import shapely

    from saferhub.geo.area import StudyArea
    from saferhub.query import EventQuery, UnitSpec

    q = EventQuery(store="/tmp/s", force=["merseyside", "cheshire"], months="2020-01,2020-05", categories="asb",
                   weights="cchi-category-v2")
    assert pickle.loads(pickle.dumps(q)) == q
    assert EventQuery.from_dict(json.loads(json.dumps(q.to_dict()))) == q
    sa = StudyArea(shapely.box(0, 0, 1000, 1000), "a square", "given")
    u = UnitSpec(cell_size=100, area=sa, boundaries="a.geojson", drop_strays=True)
    assert pickle.loads(pickle.dumps(u)) == u
    back = UnitSpec.from_dict(json.loads(json.dumps(u.to_dict())))
    assert back.area.geometry.equals(sa.geometry) and back.area.kind == "given" and back.boundaries == ("a.geojson",)


def test_keywords_build_the_contracts_and_unknown_ones_are_refused():
    from saferhub.query import EventQuery, UnitSpec, split_options

    q, u = split_options({"months": "2020-02", "cell_size": 200, "drop_strays": True},
                         EventQuery(force="merseyside", months="2020-01"), None)
    assert q.force == "merseyside" and q.months == ("2020-02",) and u.cell_size == 200 and u.drop_strays
    with pytest.raises(TypeError, match="cel_size"):
        split_options({"cel_size": 100})
    assert split_options({}, None, UnitSpec(units="hex"))[1].units == "hex"


@pytest.mark.slow
def test_typed_and_keyword_calls_agree_and_the_area_resolves_once(small_store):  # noqa: F811
    """gistar(query=, spec=) == gistar(**keywords); a StudyArea resolved once is used as given."""
    from saferhub.data.area import resolve_area
    from saferhub.hotspots import gistar
    from saferhub.query import EventQuery, UnitSpec

    kw = gistar(store=small_store, force="merseyside", months="2020-01:2020-06", categories="grip", cell_size=500, drop_strays=True)
    q = EventQuery(store=small_store, force="merseyside", months="2020-01:2020-06", categories="grip")
    area = resolve_area(q, UnitSpec())
    typed = gistar(query=q, spec=UnitSpec(cell_size=500, drop_strays=True, area=area))
    assert list(typed["unit_id"]) == list(kw["unit_id"])
    np.testing.assert_array_equal(typed["z"].to_numpy(), kw["z"].to_numpy())
    assert typed.attrs["params"]["study_area"] == kw.attrs["params"]["study_area"] == area.source
