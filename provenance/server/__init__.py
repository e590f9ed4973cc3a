"""HTTP API and moderator page (needs the ``server`` extra: FastAPI, uvicorn)."""

from provenance.server.app import create_app
from provenance.server.settings import ServerSettings, create_token, revoke_token

__all__ = ["ServerSettings", "create_app", "create_token", "revoke_token"]
