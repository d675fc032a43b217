"""Shared rendering: self-contained HTML reports (no CDN; images inlined) and matplotlib figures."""
