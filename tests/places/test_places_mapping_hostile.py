"""Every mapping reader refuses hostile files the same way (one reader: data.incidents.read_yaml)."""

import pytest

from saferhub.community.surveyio import load_mapping as survey_mapping
from saferhub.data.incidents import load_mapping as incidents_mapping
from saferhub.errors import SaferhubError
from saferhub.places.asbmap import load as asb_mapping
from saferhub.places.register import load_mapping as places_mapping

READERS = [incidents_mapping, places_mapping, survey_mapping, asb_mapping]


@pytest.mark.parametrize("read", READERS)
def test_hostile_mapping_files_are_one_clear_line(read, tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("columns:\n" + "  # padding\n" * 200_000)
    cases = {tmp_path: "is not a file", tmp_path / "none.yaml": "not found", big: "over 1 MB"}
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"agency: Caf\xe9\n")
    cases[latin] = "not UTF-8"
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [unclosed\n")
    cases[broken] = "not valid YAML"
    for path, words in cases.items():
        with pytest.raises(SaferhubError) as err:
            read(path)
        assert words in str(err.value) and "\n" not in str(err.value), (read.__module__, str(err.value))


def test_places_mapping_names_a_misspelt_setting(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("agency: Licensing\ncolums: {}\ncolumns: {id: ID, name: Name, type: Type, lon: X, lat: Y}\n")
    with pytest.raises(SaferhubError, match="unknown setting"):
        places_mapping(m)
