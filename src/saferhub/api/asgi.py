"""`uvicorn saferhub.api.asgi:app`: the app for the database in SAFERHUB_HUB_DB (or the default)."""

from saferhub.api.app import create_app

app = create_app()
