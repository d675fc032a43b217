"""Decompression bombs and oversized files: refused with one line naming the file, exit 2, the
store untouched, and the memory of the ingest bounded whatever the file expands to."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile

import pytest

from ingest_helpers import HEADER, store_fingerprint, street_row, write, write_bomb
from saferhub.data.ingest import IngestError, ingest_paths
from saferhub.data.sources import Limits

# Run the CLI in a child that reports its own peak RSS (KB) as it exits: VmHWM, the high-water mark
# of this program's memory. Not getrusage's ru_maxrss: Linux carries that across exec from the
# forking parent, so a child of a 2 GB pytest worker "peaked" at 2 GB before it ran a line.
PEAK = ("import atexit, re, sys\n"
        "atexit.register(lambda: sys.stderr.write('PEAK_KB %s\\n' % re.search(r'VmHWM:\\s+(\\d+)', "
        "open('/proc/self/status').read()).group(1)))\n"
        "from saferhub.cli import main\n"
        "sys.argv[0] = 'saferhub'\n"
        "main()\n")


def _saferhub(*args, env_extra=None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFERHUB_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_gzip_and_zip_bombs_are_refused_in_bounded_memory(tmp_path):
    """A 1.5 GB gzip bomb and a 1.5 GB zip bomb (simulated, a few MB each) ingested together: both
    refused at the default 128 MB cap; the child's peak memory stays far below 2 GB."""
    store = tmp_path / "store"
    ok = write(tmp_path / "ok" / "2018-02-merseyside-street.csv", [street_row(month="2018-02")])
    assert _saferhub("ingest", str(ok), "--store", str(store)).returncode == 0
    before = store_fingerprint(store)
    gz = write_bomb(tmp_path / "2018-01-merseyside-street.csv.gz", 1536)
    zp = write_bomb(tmp_path / "archive.zip", 1536)
    assert gz.stat().st_size < 16 * 2**20 and zp.stat().st_size < 8 * 2**20
    run = _saferhub("ingest", str(gz), str(zp), "--store", str(store))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr + run.stdout and "Exception ignored" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "decompression bomb" in line]
    assert len(errors) == 2 and str(gz) in errors[0] + errors[1] and f"{zp}!2018-01/" in errors[0] + errors[1]
    assert all("expands to more than 128 MB" in e for e in errors)
    peak_mb = int(run.stderr.split("PEAK_KB ")[1].split()[0]) / 1024
    assert peak_mb < 2048, f"peak memory {peak_mb:.0f} MB"
    assert store_fingerprint(store) == before


def test_one_bomb_gives_one_line_and_the_cap_is_a_setting(tmp_path, monkeypatch):
    bomb = write_bomb(tmp_path / "2018-01-merseyside-street.csv.gz", 20)
    run = _saferhub("ingest", str(bomb), "--store", str(tmp_path / "s"), "--max-expanded-mb", "8")
    assert run.returncode == 2
    (line,) = [ln for ln in run.stderr.splitlines() if ln.strip() and not ln.startswith("PEAK_KB")]
    assert line == (f"error: {bomb}: expands to more than 8 MB (the cap on one file, --max-expanded-mb); refused "
                    "as a possible decompression bomb; nothing was stored (the store is unchanged)")
    # The same cap from the environment (the settings object); caps above it let the file in.
    monkeypatch.setenv("SAFERHUB_MAX_EXPANDED_MB", "8")
    with pytest.raises(IngestError, match="more than 8 MB"):
        ingest_paths([bomb], store=tmp_path / "s")
    report = ingest_paths([bomb], store=tmp_path / "s2", max_expanded_mb=32, max_expansion_ratio=1000)
    f = report.files[0]
    assert f.read == f.stored + f.quarantined and f.stored > 80_000


def test_expansion_ratio_cap(tmp_path):
    """Past 16 MB, a file expanding more than the ratio is refused; the ratio counts the stored
    (compressed) size, so the 40 MB bomb in ~150 KB (ratio ~270) trips a ratio of 100."""
    bomb = write_bomb(tmp_path / "2018-01-merseyside-street.csv.gz", 40)
    with pytest.raises(IngestError, match=r"expands more than 100 times its stored size"):
        ingest_paths([bomb], store=tmp_path / "s", max_expansion_ratio=100)
    assert not (tmp_path / "s" / "catalog.json").exists()
    # Small files are never refused for their ratio (a tiny CSV may compress 100x).
    rows = [street_row()] * 2000
    small = tmp_path / "small" / "2018-01-merseyside-street.csv.gz"
    small.parent.mkdir()
    small.write_bytes(gzip.compress(("\n".join([HEADER, *rows]) + "\n").encode()))
    assert small.stat().st_size * 100 < len(gzip.decompress(small.read_bytes()))
    assert ingest_paths([small], store=tmp_path / "s", max_expansion_ratio=100).files[0].stored == 2000


def test_plain_file_over_the_cap_and_lying_zip_sizes(tmp_path):
    """A plain CSV over the cap is refused by its size before it is read; a zip whose directory
    understates the size is still stopped as it expands."""
    big = write(tmp_path / "2018-01-merseyside-street.csv", [street_row()] * 20_000)
    with pytest.raises(IngestError, match=r"expands to more than 1 MB"):
        ingest_paths([big], store=tmp_path / "s", max_expanded_mb=1)
    bomb = write_bomb(tmp_path / "a.zip", 12)
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as zf:
        info = zf.infolist()[0]
    # Patch the declared uncompressed size (local header offset 22, central directory offset 24).
    central = data.rfind(b"PK\x01\x02")
    data[22:26] = (1000).to_bytes(4, "little")
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")
    bomb.write_bytes(bytes(data))
    assert zipfile.ZipFile(bomb).infolist()[0].file_size == 1000 != info.file_size
    with pytest.raises(IngestError) as exc:
        ingest_paths([bomb], store=tmp_path / "s", max_expanded_mb=4)
    assert "expands to more than 4 MB" in str(exc.value) or "corrupt zip" in str(exc.value)


def test_limits_check_is_exact_at_the_edges():
    lim = Limits(max_bytes=100 * 2**20, max_ratio=10)
    lim.check("f", 100 * 2**20, 10 * 2**20)   # at the cap and exactly at the ratio: fine
    lim.check("f", 16 * 2**20, 1)           # at the ratio floor: fine whatever the ratio
    with pytest.raises(Exception, match="more than 100 MB"):
        lim.check("f", 100 * 2**20 + 1, 50 * 2**20)
    with pytest.raises(Exception, match="more than 10 times"):
        lim.check("f", 16 * 2**20 + 1, 1)


def test_an_ingest_holds_the_rows_of_the_files_in_flight_not_of_every_file(tmp_path):
    """Each file's rows are let go once its partitions are written, so the Arrow memory held while
    many files are ingested stays near one or two files' worth, not the sum of all of them."""
    import pyarrow as pa

    from conftest import MERSEYSIDE
    from saferhub.data import events
    from saferhub.data.ingest import ingest_paths

    files = sorted(MERSEYSIDE.glob("*-street.csv.gz"))[:24]
    base = pa.total_allocated_bytes()
    held = []
    ingest_paths(files, store=tmp_path / "s", on_file=lambda name: held.append(pa.total_allocated_bytes() - base))
    stored = events(tmp_path / "s").nbytes
    assert len(held) == 24 and stored > 100 * 2**20
    assert max(held) < stored / 4, f"held {max(held) / 2**20:.0f} MB while ingesting {stored / 2**20:.0f} MB of rows"
