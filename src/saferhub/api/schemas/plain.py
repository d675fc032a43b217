"""The one rule for typed text, shared by the JSON bodies (`bodies.Text`) and the web forms: no
NUL, no other control characters (newline, carriage return and tab are allowed where the text may
span lines), no broken Unicode (lone surrogates). A control character in a title or a note is never
what someone meant to type, and some of them break exports, terminals and PDFs later on."""

from __future__ import annotations

import unicodedata

LINE_BREAKS = frozenset("\n\r\t")
# the same rule for multi-line text as a JSON Schema pattern (ECMA-262 and Python `re` alike)
PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def problem(value: str, *, multiline: bool = True) -> str | None:
    """Why `value` is refused, in one sentence; None when it is acceptable."""
    if "\x00" in value:
        return "text must not contain NUL characters"
    for ch in value:
        cat = unicodedata.category(ch)
        if cat == "Cs":
            return "text contains broken Unicode (a lone surrogate); type it as plain text"
        if cat == "Cc" and not (multiline and ch in LINE_BREAKS):
            allowed = " (line breaks and tabs are fine here)" if multiline else ""
            return f"text must not contain control characters such as U+{ord(ch):04X}{allowed}"
    return None


def check(value: str, *, multiline: bool = True) -> str:
    """`value` unchanged, or ValueError with the reason (what pydantic validators raise)."""
    reason = problem(value, multiline=multiline)
    if reason:
        raise ValueError(reason)
    return value
