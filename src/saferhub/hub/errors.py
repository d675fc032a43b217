"""Hub errors with the HTTP status the API maps them to (all user mistakes: SaferhubError)."""

from saferhub.errors import SaferhubError


class HubError(SaferhubError):
    status = 400


class NotFound(HubError):
    status = 404


class Forbidden(HubError):
    status = 403


class Conflict(HubError):
    status = 409


class Unprocessable(HubError):
    status = 422
