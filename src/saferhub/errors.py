"""User-facing errors: the CLI prints their message on one line and exits non-zero, no traceback."""


class SaferhubError(Exception):
    """A mistake in the user's input or environment that we can explain in one line."""


class BadFileError(SaferhubError):
    """A whole input file is unusable (wrong header, not a CSV, truncated, wrong encoding, empty)."""

    def __init__(self, path, reason: str):
        self.path = printable(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def printable(text) -> str:
    """Text safe to print and to store: bytes that were not UTF-8 in a file name (kept by Python as
    lone surrogates) become U+FFFD, which any UTF-8 stream and Arrow column accepts."""
    text = str(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
