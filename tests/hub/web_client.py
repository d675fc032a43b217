"""A signed-in browser without a browser, for the web matrix and the form fuzzer: the real sign-in
form, the real purpose form, and the CSRF token taken from the last page the server rendered (so
it keeps working whether the token is bound to the browser or to the session). Also the text of
the briefing PDF, so it can be scanned for canaries like any page."""

from __future__ import annotations

import re
import zlib

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
    """The text of a PDF as WeasyPrint writes it: content streams (Flate) whose glyph codes map to
    Unicode through each font's ToUnicode CMap; fonts and resources may sit in object streams."""
    objs: dict[int, tuple[bytes, bytes]] = {}
    for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S):
        body = m.group(2)
        s = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
        head, raw = (body[:s.start()], s.group(1)) if s else (body, b"")
        if s and b"/FlateDecode" in head:
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                raw = b""
        objs[int(m.group(1))] = (head, raw)
        if b"/ObjStm" in head:  # "num offset num offset ..." then the packed objects
            first = int(re.search(rb"/First\s+(\d+)", head).group(1))
            nums = [int(x) for x in raw[:first].split()]
            offs = list(zip(nums[::2], nums[1::2]))
            for k, (num, off) in enumerate(offs):
                end = offs[k + 1][1] if k + 1 < len(offs) else len(raw) - first
                objs[num] = (raw[first + off:first + end], b"")
    fonts = {num: _cmap(objs[int(m.group(1))][1]) for num, (d, _) in objs.items()
             if (m := re.search(rb"/ToUnicode\s+(\d+) 0 R", d)) and int(m.group(1)) in objs}
    names = {n: fonts[int(num)] for d, _ in objs.values()
             for n, num in re.findall(rb"/([^\s/<>\[\]()]+)\s+(\d+) 0 R", d) if int(num) in fonts}
    text = []
    ops = re.compile(rb"/([^\s/<>\[\]()]+)\s+[-\d.]+\s+Tf|\[((?:[^\]\\]|\\.)*)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj", re.S)
    for _, raw in objs.values():
        if b" Tf" not in raw:
            continue
        cur: dict = {}
        for m in ops.finditer(raw):
            if m.group(1):
                cur = names.get(m.group(1), {})
                continue
            hexes = re.findall(rb"<([0-9A-Fa-f]*)>", m.group(2)) if m.group(2) is not None else [m.group(3)]
            w = len(next(iter(cur), b"0000"))
            text.append("".join(cur.get(h[i:i + w].upper(), "\ufffd") for h in hexes for i in range(0, len(h), w)))
    # a line may break after a hyphen ("CANARY-unattached-" / "incident"): such pieces are one word
    return "".join(t if i == 0 or text[i - 1].endswith("-") else " " + t for i, t in enumerate(text))


def _cmap(raw: bytes) -> dict:
    out = {}
    for blk in re.findall(rb"beginbfchar(.*?)endbfchar", raw, re.S):
        for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", blk):
            out[a.upper()] = bytes.fromhex(b.decode()).decode("utf-16-be", "replace")
    for blk in re.findall(rb"beginbfrange(.*?)endbfrange", raw, re.S):
        for a, b, c in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", blk):
            for i, code in enumerate(range(int(a, 16), int(b, 16) + 1)):
                out[b"%0*X" % (len(a), code)] = chr(int(c, 16) + i)
    return out


def body_text(r) -> str:
    """Everything a response shows, as text: PDF text extracted, other bytes as latin-1."""
    if r.headers.get("content-type", "").startswith("application/pdf"):
        return pdf_text(r.content)
    return r.content.decode("utf-8", "replace") if r.content else ""
