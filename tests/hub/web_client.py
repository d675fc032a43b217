"""A signed-in browser without a browser, for the web matrix and the form fuzzer: the real sign-in
form, the real purpose form, and the CSRF token taken from the last page the server rendered (so
it keeps working whether the token is bound to the browser or to the session). Also the text of
the briefing PDF, so it can be scanned for canaries like any page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebUser:
    def __init__(self, app, email: str | None, password: str | None):
        self.client = TestClient(app, follow_redirects=False)
        self.email, self.token = email, None
        self.get("/web/login")
        if email is not None:
            r = self.post("/web/login", {"email": email, "password": password})
            assert r.status_code == 303, (email, r.status_code, r.text[:200])
            self.get("/web/briefing")  # a page rendered for the session: its token

    def _seen(self, r):
        if "text/html" in r.headers.get("content-type", ""):
            m = TOKEN.search(r.text)
            if m:
                self.token = m.group(1)
        return r

    def get(self, url: str):
        return self._seen(self.client.get(url))

    def post(self, url: str, data: dict | list | None = None, *, csrf: bool = True, content: bytes | None = None,
             headers: dict | None = None):
        if content is not None:
            return self._seen(self.client.post(url, content=content, headers=headers))
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("csrf_token", self.token or ""))
        return self._seen(self.client.post(url, data=dict(fields) if len({k for k, _ in fields}) == len(fields)
                                           else _multi(fields), headers=headers))

    def state_purpose(self, purpose: str) -> None:
        r = self.post("/web/purpose", {"purpose": purpose, "next": "/web/briefing"})
        assert r.status_code == 303 and "saferhub_purpose" in r.headers.get("set-cookie", ""), r.text[:300]


def _multi(fields):
    """Repeated fields: httpx sends a list value as the same name several times."""
    out: dict = {}
    for k, v in fields:
        out.setdefault(k, []).append(v)
    return out


def pdf_text(data: bytes) -> str:
    """The text of a PDF (pypdf), every page. A line may break after a hyphen ("CANARY-unattached-"
    / "incident"): such pieces are joined, so a canary split over two lines is still one word."""
    import io

    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"-\s*\n\s*", "-", text)


def body_text(r) -> str:
    """Everything a response shows, as text: PDF text extracted, other bytes as latin-1."""
    if r.headers.get("content-type", "").startswith("application/pdf"):
        return pdf_text(r.content)
    return r.content.decode("utf-8", "replace") if r.content else ""
