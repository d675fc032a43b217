"""The hub's HTTP API (FastAPI): thin routers over `saferhub.hub.services`. `create_app` builds it."""

from saferhub.api.app import create_app

__all__ = ["create_app"]
