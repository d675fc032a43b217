"""Self-contained HTML reports: one file, inline CSS, images as data URIs, opens offline."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io

import matplotlib


matplotlib.use("Agg")  # no display on servers; set before pyplot is imported anywhere

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1100px;
     color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem} table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right} th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left} img{max-width:100%;height:auto}
table.params td{text-align:left} table{max-width:100%}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem 1rem}
footer{margin-top:3rem;color:#666;font-size:.8rem}
"""

ATTRIBUTION = ("Contains public sector information licensed under the Open Government Licence v3.0. "
               "Contains OS data © Crown copyright and database right.")


def escape(text) -> str:
    return html.escape(str(text))


def figure_data_uri(fig, dpi: int = 110) -> str:
    """A matplotlib figure as a PNG data URI (and the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(fig, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="{figure_data_uri(fig)}">'


def table_html(df, float_format: str = "{:,.3f}", index: bool = False) -> str:
    """A pandas DataFrame as a plain HTML table: whole numbers as integers (counts), tiny values
    (p-values) in scientific notation rather than a misleading 0.000."""

    def fmt(v: float) -> str:
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}"
        if 0 < abs(v) < 1e-3:
            return f"{v:.1e}"
        return float_format.format(v)

    return df.to_html(index=index, border=0, float_format=fmt, escape=True, na_rep="–")


def params_html(params: dict) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in params.items())
    return f"<table class='params'>{rows}</table>"


def page(title: str, sections: list[tuple[str, str]], subtitle: str = "") -> str:
    """A complete HTML document. `sections` are (heading, inner HTML) pairs, already escaped."""
    body = "".join(f"<section><h2>{escape(h)}</h2>{inner}</section>" for h, inner in sections)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class='meta'>{escape(subtitle)} · made by saferhub {stamp}</p>"
            f"{body}<footer>{escape(ATTRIBUTION)}</footer></body></html>")
