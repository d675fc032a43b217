"""Every force at once: the police.uk national archive and `saferhub fetch --force all`.

The national archive (data.police.uk's "all forces" download) is one zip holding
`YYYY-MM/YYYY-MM-<force>-street.csv`, `-outcomes.csv` and `-stop-and-search.csv` for every force
and month, often several GB. `ingest_paths` already reads it member by member (no extraction to
disk; each member is read, parsed, its partitions written and its rows let go, so memory stays
that of the biggest file or two, data.sources / data.ingest); this module adds what a national
run needs on top: per-force accounting (read = stored + quarantined + ignored, force by force),
the fetch of every force the API lists, and a SYNTHETIC national archive built from one force's
real files for tests and benchmarks.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from saferhub.errors import SaferhubError


@dataclass
class ForceTotals:
    force: str
    files: int = 0
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    ignored: int = 0
    unlocated: int = 0

    @property
    def balanced(self) -> bool:
        return self.read == self.stored + self.quarantined + self.ignored


def per_force(report) -> list[ForceTotals]:
    """An IngestReport's files summed force by force (sorted by force)."""
    out: dict[str, ForceTotals] = {}
    for f in report.files:
        t = out.setdefault(f.force, ForceTotals(f.force))
        t.files += 1
        t.read += f.read
        t.stored += f.stored
        t.quarantined += f.quarantined
        t.ignored += f.ignored
        t.unlocated += f.unlocated
    return [out[k] for k in sorted(out)]


# ---------------------------------------------------------------------------------------------
# fetch --force all


@dataclass
class FetchAllReport:
    base_url: str
    forces: list[str] = field(default_factory=list)        # what the API listed
    reports: dict = field(default_factory=dict)            # force -> FetchReport
    failures: dict[str, str] = field(default_factory=dict)  # force -> one-line reason

    def as_dict(self) -> dict:
        return {"base_url": self.base_url, "forces": self.forces, "failures": self.failures,
                "fetched": {f: r.as_dict() for f, r in self.reports.items()}}


def fetch_all(months, store=None, *, base_url: str | None = None, refresh: bool = False, api=None,
              on_force: Callable[[str, int, int], None] | None = None, **kw) -> FetchAllReport:
    """`data.fetch.fetch` for every force the police.uk API lists (`/forces`), one after another
    (they share the API's rate limit). A force that fails is recorded with its reason and the
    others still run; each force's months are their own transactions, as for one force.

    on_force(force, done, total): called before each force."""
    from saferhub.config import settings
    from saferhub.data.fetch import fetch
    from saferhub.data.forces import force_id
    from saferhub.data.policeapi import PoliceAPI

    base_url = settings(police_api=base_url or None).police_api
    own_api = api is None
    if own_api:
        api = PoliceAPI(base_url)
    report = FetchAllReport(api.base_url)
    try:
        listed = api.list_of("forces")
        report.forces = sorted({force_id(f["id"]) for f in listed if isinstance(f, dict) and f.get("id")})
        if not report.forces:
            raise SaferhubError(f"the police.uk API at {api.base_url} lists no forces")
        for i, force in enumerate(report.forces):
            if on_force:
                on_force(force, i, len(report.forces))
            try:
                report.reports[force] = fetch(force, months, store, refresh=refresh, api=api, **kw)
            except SaferhubError as exc:
                report.failures[force] = str(exc)
    finally:
        if own_api:
            api.close()
    return report


# ---------------------------------------------------------------------------------------------
# A SYNTHETIC national archive (tests and benchmarks)


def synthetic_archive(files, forces: list[str], out: Path) -> dict:
    """Write a zip laid out as police.uk's national archive from one force's real monthly CSVs
    (plain or .gz, police.uk names): each file appears once per force in `forces`, renamed
    `YYYY-MM/YYYY-MM-<force>-<kind>.csv`, its "Reported by" / "Falls within" columns set to that
    force. The rows are otherwise the source's (same places): it is SYNTHETIC, for measuring and
    testing the national ingest, and the archive's comment says so. Returns {member: rows}."""
    import gzip

    from saferhub.data.forces import force_name
    from saferhub.data.sources import POLICE_NAME

    written = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.comment = b"SYNTHETIC national archive: one force's real rows renamed as several forces (saferhub)"
        for path in sorted(Path(p) for p in files):
            m = POLICE_NAME.search(path.name)
            if not m:
                raise SaferhubError(f"{path}: not a police.uk file name (YYYY-MM-<force>-<kind>.csv)")
            raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            header, body = rows[0], rows[1:]
            cols = [i for i, h in enumerate(header) if h in ("Reported by", "Falls within")]
            for force in forces:
                name = force_name(force)
                buf = io.StringIO()
                w = csv.writer(buf, lineterminator="\n")
                w.writerow(header)
                for r in body:
                    for i in cols:
                        if i < len(r):
                            r[i] = name
                    w.writerow(r)
                member = f"{m['month']}/{m['month']}-{force}-{m['kind']}.csv"
                zf.writestr(member, buf.getvalue())
                written[member] = len(body)
    return written
