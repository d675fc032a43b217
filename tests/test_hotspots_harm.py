"""Harm weight tables: complete, documented, overridable, and clear about bad files."""

from __future__ import annotations

import pandas as pd
import pytest

from saferhub.categories import CATEGORIES
from saferhub.errors import SaferhubError
from saferhub.harm import DEFAULT_VERSION, available_versions, load_weights, weights_for


@pytest.mark.parametrize("version", available_versions())
def test_every_packaged_table_covers_every_category_with_a_documented_basis(version):
    from importlib import resources

    w = load_weights(version)
    assert set(CATEGORIES) <= set(w)
    text = (resources.files("saferhub") / "harm_weights" / f"{version}.csv").read_text()
    table = pd.read_csv(pd.io.common.StringIO(text))
    assert table["basis"].notna().all() and (table["basis"].str.len() > 10).all()


def test_default_table_orders_harm_sensibly():
    assert DEFAULT_VERSION in available_versions()
    w = load_weights()
    assert w["Robbery"] > w["Violence and sexual offences"] > w["Public order"] > w["Anti-social behaviour"]
    assert w["Burglary"] > w["Other theft"] >= w["Shoplifting"]
    assert w["Possession of weapons"] > w["Drugs"]


def test_user_table_overrides_and_unknown_categories_weigh_one(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("category,weight\nburglary,100\nviolent-crime,50\n")
    w = load_weights(p)
    assert w == {"Burglary": 100.0, "Violence and sexual offences": 50.0}
    assert weights_for(["Burglary", "Robbery", "Violence and sexual offences"], w).tolist() == [100, 1, 50]


def test_bad_tables_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("category,weight\nBurglary,-3\n")
    with pytest.raises(SaferhubError, match="line 2"):
        load_weights(bad)
    cols = tmp_path / "cols.csv"
    cols.write_text("name,value\nBurglary,3\n")
    with pytest.raises(SaferhubError, match="columns"):
        load_weights(cols)
    with pytest.raises(SaferhubError, match="unknown harm weights version"):
        load_weights("cchi-category-v99")
