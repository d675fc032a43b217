"""Issue 23, every force's layers on the web map, without a browser: the national catalogue as the
map's force chooser sees it (plain names, synthetic forces marked simulated, names the layer route
would refuse left out), where the map opens for `?force=`, and the view link that keeps the force."""

from __future__ import annotations

import pytest

from saferhub.hub.services.maps import force_label, national_forces, opening_view, view_link

LOCAL = {"layers": [{"name": "hotspots-grip-gistar", "group": "hotspots", "method": "gistar", "categories": "grip",
                     "hot_bounds": [[53.38, -3.0], [53.42, -2.95]]}]}


def _entry(force, group="hotspots", bounds=None, overview=None):
    method = "gistar" if group == "hotspots" else "forecast"
    e = {"force": force, "name": f"national-{force}-{group}-grip" + ("-gistar" if group == "hotspots" else ""),
         "group": group, "method": method, "categories": "grip"}
    return e | ({"hot_bounds": bounds} if bounds else {}) | ({"overview": overview} if overview else {})


NATIONAL = {"layers": [
    _entry("synthetic-02", bounds=[[53.0, -3.5], [53.2, -3.2]], overview={"centre": [53.1, -3.3], "hot_cells": 7}),
    _entry("synthetic-02", "forecast"),
    _entry("synthetic-01", bounds=[[52.0, -2.5], [52.2, -2.2]]),
    _entry("merseyside", bounds=[[53.3, -3.1], [53.5, -2.8]]),
    _entry("cumbria"),
    {"force": "Bad Force</script>", "name": "national-bad", "group": "hotspots", "method": "gistar"},
    {"force": "lancashire", "name": "../../etc/passwd", "group": "hotspots", "method": "gistar"},
    {"name": "no-force-at-all", "group": "hotspots"},
]}


def test_forces_are_named_plainly_real_first_and_synthetic_ones_marked_simulated():
    forces = national_forces(NATIONAL)
    assert [f["force"] for f in forces] == ["cumbria", "merseyside", "synthetic-01", "synthetic-02"]
    assert [f["label"] for f in forces] == ["Cumbria Constabulary", "Merseyside Police",
                                            "Synthetic force 01 (simulated)", "Synthetic force 02 (simulated)"]
    assert [f["synthetic"] for f in forces] == [False, False, True, True]
    two = forces[3]
    assert len(two["layers"]) == 2 and all(e["force_label"] == "Synthetic force 02 (simulated)" and e["synthetic"]
                                           for e in two["layers"])
    assert two["overview"] == {"centre": [53.1, -3.3], "hot_cells": 7}
    assert forces[2]["overview"] is None  # published before overviews: in the chooser, not on the overview
    assert national_forces({}) == [] and national_forces({"layers": []}) == []


def test_every_synthetic_id_says_simulated_and_an_unknown_force_keeps_its_id():
    assert "simulated" in force_label("synthetic-44") and "44" in force_label("synthetic-44")
    assert force_label("btp") == "British Transport Police"
    assert force_label("atlantis") == "atlantis"


@pytest.mark.parametrize("force, want_force, want_bounds", [
    ("synthetic-02", "synthetic-02", [[53.0, -3.5], [53.2, -3.2]]),   # the chosen force's hot cells
    ("synthetic-01", "synthetic-01", [[52.0, -2.5], [52.2, -2.2]]),
    ("cumbria", "cumbria", None),                                     # no hot bounds: fitted to its layer
    ("nowhere", None, LOCAL["layers"][0]["hot_bounds"]),              # unknown: this force's own
    ("'\"><b>", None, LOCAL["layers"][0]["hot_bounds"]),
    (None, None, LOCAL["layers"][0]["hot_bounds"]),
])
def test_the_map_opens_on_the_chosen_force(force, want_force, want_bounds):
    view = opening_view(LOCAL, force=force, forces=national_forces(NATIONAL))
    assert view.get("force") == want_force and view.get("bounds") == want_bounds


def test_without_layers_of_its_own_the_map_opens_on_the_first_force_and_a_link_still_wins():
    forces = national_forces(NATIONAL)
    assert opening_view({"layers": []}, forces=forces)["force"] == "cumbria"
    view = opening_view({"layers": []}, "53.41", "-2.98", "14", None, "synthetic-02", forces)
    assert view == {"layer": None, "force": "synthetic-02", "center": [53.41, -2.98], "zoom": 14.0, "source": "link"}
    assert opening_view({"layers": []}) == {"layer": None, "source": "layer"}


def test_the_view_link_keeps_the_checked_force_only():
    forces = national_forces(NATIONAL)
    assert view_link(opening_view(LOCAL, force="synthetic-02", forces=forces)) == "/web/map?force=synthetic-02"
    assert view_link(opening_view(LOCAL, "53.4", "-2.98", "15", "forecast", "merseyside", forces)) == \
        "/web/map?lat=53.4&lon=-2.98&zoom=15&layer=forecast&force=merseyside"
    assert view_link(opening_view(LOCAL, force="x&admin=1", forces=forces)) == "/web/map"
