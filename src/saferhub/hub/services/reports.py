"""Report files the jobs wrote (`/web/reports`): which a user may list and open is
`access.may_open_report` (future patrol plans: police roles only; aggregates: everyone signed in),
and every open is logged (action "read", entity "report_file", the file in the detail).

`roots` maps a folder label to its path ({"out": the out folder, "evaluations": the store's
evaluation runs}); callers pass it from the settings, so the hub never imports the config. Names
shown and accepted are relative to a root: no server path leaves here."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from saferhub.hub import audit
from saferhub.hub.access import may_open_report
from saferhub.hub.errors import NotFound
from saferhub.hub.models import User

KINDS = (".html", ".pdf", ".png")
OPENED = "opened report"  # the purpose logged when the session stated none (a report is not case data)


def _files(root: Path):
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if p.suffix in KINDS and not any(part.startswith(".") for part in rel.parts) and p.is_file():
                yield p, rel.as_posix()


def list_reports(user: User, roots: dict[str, Path]) -> list[dict]:
    """The report files `user` may open: {"base", "name", "bytes"} (names relative to their root)."""
    return [{"base": base, "name": name, "bytes": p.stat().st_size}
            for base, root in roots.items() for p, name in _files(root.resolve())
            if may_open_report(user, root.resolve(), name)]


def open_report(db: Session, user: User, roots: dict[str, Path], base: str, name: str,
                purpose: str | None = None) -> Path:
    """The file to send, after the access decision; the open is logged. A file the user may not
    open answers exactly as one that does not exist."""
    root = roots.get(base)
    if root is None:
        raise NotFound("no such report")
    root = root.resolve()
    file = (root / name).resolve()
    if not file.is_relative_to(root) or not file.is_file() or file.suffix not in KINDS:
        raise NotFound("no such report")
    rel = file.relative_to(root).as_posix()
    if any(part.startswith(".") for part in file.relative_to(root).parts) or not may_open_report(user, root, rel):
        raise NotFound("no such report")
    try:
        why = audit.check_purpose(purpose)
    except audit.MissingPurpose:
        why = OPENED
    audit.append(db, user=user, action="read", entity="report_file", entity_ids=[], purpose=why,
                 detail={"path": f"{base}/{rel}"})
    return file
