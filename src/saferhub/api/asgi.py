"""`uvicorn saferhub.api.asgi:app`: the app for the database in SAFERHUB_HUB_DB (or the default),
built when first asked for (importing this module builds nothing). Prefer
`uvicorn --factory saferhub.api.app:from_settings`."""

from saferhub.api.app import from_settings


def __getattr__(name: str):
    if name == "app":
        return from_settings()
    raise AttributeError(name)
