"""The web app and REST API (FastAPI): plant overview now; machine, operator and data pages next."""

from pilotline.web.app import create_app
from pilotline.web.users import ROLES, User, Users

__all__ = ["ROLES", "User", "Users", "create_app"]
