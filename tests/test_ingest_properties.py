"""Property-based: throw malformed rows and files at ingest. Never a crash; always
read = stored + quarantined; a rejected file leaves the store exactly as it was."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_helpers import HEADER, store_fingerprint, street_row
from saferhub.data import events
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.data.store import quarantine
from saferhub.errors import SaferhubError

GOOD = street_row(crime_id="", lon="-2.98", lat="53.40")

field_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12),
    st.sampled_from(["", "2018-01", "2018-13", "-2.98", "53.40", "nan", "inf", "1e400", "-0", "Burglary",
                     "Anti-social behaviour", '"quoted, comma"', ",", '"']),
)
row = st.one_of(
    st.just(GOOD),
    st.lists(field_text, min_size=0, max_size=15).map(lambda fs: ",".join(fs)),
    st.builds(lambda m, lon, lat, t: street_row(month=m, lon=lon, lat=lat, ctype=t),
              st.sampled_from(["2018-01", "2018-02", "18-01", ""]),
              st.sampled_from(["-2.98", "", "x", "-0.12", "181", "-2.9800001"]),
              st.sampled_from(["53.40", "", "51.5", "91", "53.4x"]),
              st.sampled_from(["Anti-social behaviour", "Drugs", "drugs", "Unknown", "violent-crime"])),
)


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=40))
def test_malformed_rows_never_crash_and_are_all_accounted_for(rows):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "2018-01-merseyside-street.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        try:
            report = ingest_paths([path], store=tmp / "s")
        except IngestError as exc:
            # Only whole-file problems may reject it, e.g. every line blank.
            assert len(exc.errors) == 1 and str(path) in str(exc)
            return
        (f,) = report.files
        assert f.read == f.stored + f.quarantined
        assert events(tmp / "s").num_rows == f.stored
        assert quarantine(tmp / "s").num_rows == f.quarantined
        again = ingest_paths([path], store=tmp / "s")
        assert again.added == 0


@settings(max_examples=25, deadline=None)
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.text(max_size=200).map(lambda t: (HEADER + "\n" + t).encode("utf-8", errors="replace")),
    st.binary(min_size=10, max_size=300).map(lambda b: gzip.compress(b)[: max(2, len(b) // 3)]),
    st.sampled_from([HEADER.encode(), (HEADER + "\n").encode("utf-16"), b"\xff\xfe\x00", b"\n\n\n"]),
), gz_name=st.booleans())
def test_malformed_files_leave_the_store_unchanged_or_balance(data, gz_name):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = tmp / "s"
        base = tmp / "2018-02-merseyside-street.csv"
        base.write_text(HEADER + "\n" + GOOD.replace("2018-01", "2018-02") + "\n")
        ingest_paths([base], store=store)
        before = store_fingerprint(store)
        path = tmp / ("2018-01-merseyside-street.csv" + (".gz" if gz_name else ""))
        path.write_bytes(data)
        try:
            report = ingest_paths([path], store=store)
        except SaferhubError as exc:
            assert str(path) in str(exc)
            assert store_fingerprint(store) == before
            return
        for f in report.files:
            assert f.read == f.stored + f.quarantined + f.ignored
        assert events(store, months="2018-02").num_rows == 1
