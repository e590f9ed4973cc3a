"""HTTP API and moderator page (needs the ``server`` extra: FastAPI, uvicorn)."""

from provenance.server.app import ACCESS_LOGGER, create_app
from provenance.server.settings import ServerSettings, create_token, revoke_token

__all__ = [
    "ACCESS_LOGGER",
    "ServerSettings",
    "create_app",
    "create_token",
    "revoke_token",
]
