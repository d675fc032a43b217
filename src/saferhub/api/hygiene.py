"""Request-boundary hygiene: what every request must be before any route sees it.

* Bodies larger than `max_request_bytes` (settings, default 1 MiB) get 413, declared or streamed;
  a route may have its own limit (`POST /incidents`: up to 10,000 incidents, 16 MiB).
* JSON bodies must be strict: UTF-8, no NaN/Infinity (or numbers that overflow to them), no lone
  surrogates, no NUL characters, not absurdly deep. Python's json module
  accepts all of these, and then a stored NaN or surrogate makes the record's later response fail
  to encode (a 500 on every read) — so they are refused with 422 before anything is written.
* 422 responses never echo large or unencodable input: each error's `input` is clipped.
* Header text (the X-Purpose header) arrives as latin-1 by HTTP's rules; `header_text` accepts
  raw UTF-8 bytes and the RFC 8187 form `UTF-8''Safeguarding%20%E2%80%93%20...`."""

from __future__ import annotations

import email.message
import json
import math
import re
from urllib.parse import unquote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CLIP = 80  # characters of a rejected value shown back


class BadJSON(ValueError):
    pass


def _constant(name: str):
    raise BadJSON(f"{name} is not allowed in JSON (use null or a finite number)")


# a \u0000 escape that is not itself escaped (preceded by an even number of backslashes)
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def check_json(body: bytes) -> None:
    """Raise BadJSON (with a short, safe reason) unless `body` is strict JSON. Parsing and the
    re-encoding check both run in the json module's C code, so this costs about two parses."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJSON(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_constant)
    except BadJSON:
        raise
    except RecursionError:
        raise BadJSON("the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer with thousands of digits
        raise BadJSON(f"not valid JSON: {str(exc)[:120]}") from None
    try:  # 1e999 parses to inf; "\ud800" parses to a lone surrogate: neither can be written back
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except RecursionError:
        raise BadJSON("the JSON is nested too deeply") from None
    except ValueError:
        raise BadJSON("a number is too large (it would be Infinity)") from None
    except UnicodeEncodeError:
        raise BadJSON("text contains a lone surrogate (\\ud800-\\udfff): not valid Unicode") from None
    if "\\u0000" in text and _NUL_ESCAPE.search(text):  # the cheap test first: the regex is slow
        raise BadJSON("text must not contain NUL characters")


def _is_json(content_type: str | None) -> bool:
    """The same rule FastAPI uses to decide a body is JSON (no content type counts as JSON)."""
    if not content_type:
        return True
    m = email.message.Message()
    m["content-type"] = content_type
    return m.get_content_maintype() == "application" and (
        m.get_content_subtype() == "json" or m.get_content_subtype().endswith("+json"))


class Hygiene:
    """Pure ASGI middleware: buffers the body (at most `max_body` bytes), checks it, replays it."""

    def __init__(self, app, max_body: int, route_limits: dict[tuple[str, str], int] | None = None):
        self.app, self.default_max, self.route_limits = app, max_body, route_limits or {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        max_body = self.route_limits.get((scope["method"], scope.get("path", "")), self.default_max)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "").strip()
        if declared and not declared.isdigit():
            return await _refuse(send, 400, "the Content-Length header is not a number")
        if declared and int(declared) > max_body:
            return await _refuse(send, 413, f"the request body is larger than {max_body:,} bytes")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body:
                return await _refuse(send, 413, f"the request body is larger than {max_body:,} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and _is_json(headers.get("content-type")):
            try:
                check_json(body)
            except BadJSON as exc:  # 422 in FastAPI's own shape, as for any other malformed JSON
                return await _refuse(send, 422, [{"type": "json_invalid", "loc": ["body"],
                                                  "msg": f"the request body is not acceptable JSON: {exc}"}])
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send, status: int, detail) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


def clip(value, limit: int = CLIP):
    """A short, always-encodable stand-in for a rejected value (never the whole body back)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (dict, list, tuple)):
        return f"<{type(value).__name__} of {len(value)} items>"
    s = str(value).encode("utf-8", "replace").decode("utf-8")
    return s if len(s) <= limit else s[:limit] + f"… ({len(s):,} characters)"


def _safe_error(e: dict) -> dict:
    out = {"type": e.get("type"), "loc": [clip(x) for x in e.get("loc", ())], "msg": clip(e.get("msg"), 300)}
    if "input" in e:
        out["input"] = clip(e["input"])
    return out


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": [_safe_error(e) for e in exc.errors()]}, status_code=422)


def header_text(value: str | None) -> str | None:
    """Header text as the user typed it. HTTP decodes headers as latin-1, so UTF-8 sent raw arrives
    garbled ("ZoÃ«"): re-decode it. The RFC 8187 form `UTF-8''<percent-encoded>` is decoded too.
    Genuine latin-1 (bytes that are not valid UTF-8) is kept as it is."""
    if value is None:
        return None
    if value[:7].lower() == "utf-8''":
        try:
            return unquote(value[7:], encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise HTTPException(400, "the header's percent-encoded text is not valid UTF-8") from None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def install(app: FastAPI, max_body: int, route_limits: dict[tuple[str, str], int] | None = None) -> None:
    """Add the body checks and the clipped 422 handler to `app`. `route_limits`: (method, path) ->
    a body limit for that route instead of `max_body`."""
    app.add_middleware(Hygiene, max_body=max_body, route_limits=route_limits)
    app.add_exception_handler(RequestValidationError, validation_error)
