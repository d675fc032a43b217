"""User-facing errors: the CLI prints their message on one line and exits non-zero, no traceback."""


class SaferhubError(Exception):
    """A mistake in the user's input or environment that we can explain in one line."""


class BadFileError(SaferhubError):
    """A whole input file is unusable (wrong header, not a CSV, truncated, wrong encoding, empty)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
