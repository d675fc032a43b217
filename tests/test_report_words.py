"""Reports in plain words: titles, months, percentages, p-values people can read."""

from __future__ import annotations

import numpy as np
import pytest

from saferhub.hotspots import words as W


def test_titles_name_the_crimes_and_months():
    grip = ["Violence and sexual offences", "Robbery", "Possession of weapons", "Anti-social behaviour"]
    assert W.title({"method": "gistar", "categories": grip, "months": "2020-01..2020-12", "measure": "count"}) == \
        "Hot spots of violence, robbery, weapons and ASB, Jan–Dec 2020"
    assert W.month_words("2019-11..2020-02") == "Nov 2019–Feb 2020"
    assert W.month_words("2020-03") == "Mar 2020"
    assert W.crime_words(["Burglary"]) == "burglary"


@pytest.mark.parametrize("p, text", [(3.8e-305, "< 0.0001"), (0.0, "< 0.0001"), (0.00012, "0.0001"),
                                     (0.04321, "0.0432"), (np.nan, "–")])
def test_p_values_are_readable(p, text):
    assert W.p_text(p) == text


def test_parameters_table_says_units_and_words():
    rows = W.params_rows({"measure": "harm", "correction": "fdr", "cell_size": 150, "events": 99141,
                          "drop_strays": True, "notes": ["x"], "seed": None})
    assert rows == {"measure": "harm, in days of custody (Cambridge Crime Harm Index)",
                    "multiple-testing correction": "false discovery rate (Benjamini-Hochberg)",
                    "cell size (m)": "150", "crimes analysed": "99,141", "stray points left out": "yes"}
    assert W.pct(0.16129) == "16.1%"
