"""Pages and the briefing are shells: every query, role check and audit call lives in
`saferhub.hub.services` / `saferhub.hub.access` (one gate, the same as the JSON API's). A source
scan, so a page that starts running its own SQL or deciding access fails here the day it lands."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "saferhub"
FOLDERS = [SRC / "api" / "pages", SRC / "briefing"]
FORBIDDEN = {
    "a query": r"\bselect\(|\bdb\.(execute|scalars?|get|query)\(|\bfrom sqlalchemy import\b|\bimport sqlalchemy\b|"
               r"\bsaferhub\.hub\.models import (?!CASE_KINDS|REFERRAL_KINDS|RISK_LEVELS|User\b)",
    "an access rule": r"\bfull_clause\b|\blisted_clause\b|\bcan_read_cases\b|\brequire_(case_)?role\b|"
                      r"\bsaferhub\.hub\.access\b|\bhub\.access\b",
    "a role check": r"\buser\.role\b|\.role\s*(==|!=|in\b)",
    "an audit call": r"\baudit\.(disclose|disclose_stubs|append)\b",
}
FILES = sorted(p for folder in FOLDERS for p in folder.rglob("*.py"))


def code_only(text: str) -> str:
    """The source with comments and string literals (docstrings, messages) blanked out, line and
    column positions kept: prose may name what the code must not do."""
    lines = text.splitlines(keepends=True)
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            (r0, c0), (r1, c1) = tok.start, tok.end
            for r in range(r0, r1 + 1):
                line = lines[r - 1]
                a, b = (c0 if r == r0 else 0), (c1 if r == r1 else len(line.rstrip("\n")))
                lines[r - 1] = line[:a] + " " * (b - a) + line[b:]
    return "".join(lines)


def test_the_scan_sees_the_pages():
    names = {p.name for p in FILES}
    assert {"cases.py", "map.py", "admin.py", "briefing.py", "assemble.py", "commands.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_queries_access_rules_role_checks_or_audit_calls(path):
    text = code_only(path.read_text(encoding="utf-8"))
    found = [f"line {text.count(chr(10), 0, m.start()) + 1}: {what} ({m.group(0)!r})"
             for what, pattern in FORBIDDEN.items() for m in re.finditer(pattern, text)]
    assert not found, f"{path.relative_to(SRC)} must call hub services instead: " + "; ".join(found)


def test_the_scan_would_catch_a_page_query():
    """The patterns match what the pages used to do (so the scan cannot silently pass), in code
    but not in prose."""
    assert code_only('x = 1  # select(Plan)\n"""audit.disclose"""\nq = select(Plan)\n').count("select(") == 1
    old = ['q = select(Plan).where(full_clause(user))', 'if user.role != "admin":',
           'audit.disclose(db, user, purpose, "plan", ids)', 'from saferhub.hub.access import can_read_cases',
           'rows = db.scalars(q).all()', 'from sqlalchemy import select', 'from saferhub.hub.models import Plan']
    for line in old:
        assert any(re.search(p, line) for p in FORBIDDEN.values()), line
