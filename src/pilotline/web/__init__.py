"""The web app and REST API (FastAPI): overview, machine, operator and shift-report pages."""

from pilotline.web.app import create_app
from pilotline.web.users import ROLES, User, Users

__all__ = ["ROLES", "User", "Users", "create_app"]
