"""A window of months running past what the store holds is warned about — in the notes (the report
and the CLI's stderr) and in params["months_missing"] — by hotspots, forecasts and patrol areas."""

import pytest
from find_helpers import small_store  # noqa: F401  (real rows, 2019-07..2020-12)

pytestmark = pytest.mark.slow


def test_store_months_and_the_warning_line(small_store):  # noqa: F811
    from saferhub.data.store import missing_months, months_held

    held = months_held(small_store, "merseyside")
    assert held[0] == "2019-07" and held[-1] == "2020-12" and len(held) == 18
    assert months_held(small_store, "cheshire") == []
    missing, line = missing_months("2020-05:2021-04", small_store, "merseyside")
    assert missing == ["2021-01", "2021-02", "2021-03", "2021-04"]
    assert line.startswith("WARNING: 4 of the 12 months") and "2021-01..2021-04" in line and "other 8" in line
    assert missing_months("2020-01:2020-12", small_store, "merseyside") == ([], None)


def test_hotspots_forecast_and_patrol_say_which_months_are_missing(small_store):  # noqa: F811
    from saferhub.forecast.service import forecast
    from saferhub.hotspots import gistar
    from saferhub.patrol.service import make_areas

    hot = gistar(store=small_store, force="merseyside", months="2020-05:2021-04", categories="grip",
                 cell_size=250, drop_strays=True)
    p = hot.attrs["params"]
    assert p["months_missing"] == ["2021-01", "2021-02", "2021-03", "2021-04"]
    assert p["months"] == "2020-05..2020-12" and any(n.startswith("WARNING: 4 of the 12") for n in p["notes"])
    said = []
    f = forecast("2020-03", model="naive", cell_size=250, categories="grip", store=small_store, say=said.append)
    assert f.params["months_missing"] == ["2019-04", "2019-05", "2019-06"]
    assert any(s.startswith("WARNING: 3 of the 12") for s in said)
    assert forecast("2020-12", model="naive", cell_size=250, store=small_store).params["months_missing"] == []
    r = make_areas(small_store, force="merseyside", months="2020-05:2021-04", categories="grip", cell_size=100)
    assert r.params["months_missing"] == ["2021-01", "2021-02", "2021-03", "2021-04"]
