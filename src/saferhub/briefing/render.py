"""The briefing as HTML (the page and the printable pack) and as PDF (WeasyPrint, offline)."""

from __future__ import annotations

from saferhub.briefing.assemble import Briefing
from saferhub.errors import SaferhubError
from saferhub.web import HERE, env

TITLE = "Daily partnership briefing"


def title_for(b: Briefing) -> str:
    return f"{TITLE}, {b.now:%A %d %B %Y}"


def standalone_html(b: Briefing) -> str:
    """One self-contained HTML document (styles inline, no links out) for print and PDF."""
    css = (HERE / "static" / "app.css").read_text() + (HERE / "static" / "print.css").read_text()
    return env.get_template("briefing_print.html").render(b=b, title=title_for(b), css=css)


def _no_fetch(url: str, *args, **kwargs):
    raise SaferhubError(f"the briefing PDF may not fetch {url!r} (offline)")


def pdf_bytes(b: Briefing) -> bytes:
    from weasyprint import HTML

    return HTML(string=standalone_html(b), url_fetcher=_no_fetch).write_pdf()  # <title> becomes the PDF title
