"""What every route needs: the store, the users, the templates, the current user and the CSRF check.

One ``Web`` object is made per app; the route modules (pages and API for the plant, data, settings
and users) take it instead of reaching for globals.
"""

from __future__ import annotations

import gettext
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from pilotline.map.render import human_duration
from pilotline.plant import Plant, load_plant
from pilotline.store import Store
from pilotline.web.cache import FileVersion
from pilotline.web.users import Role, User, Users

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
LOCALES = HERE / "locales"


class Problem(Exception):
    """An HTTP error with a title and a detail for people (RFC 9457); ``extra`` adds members."""

    def __init__(
        self, status: int, title: str, detail: str = "", extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.extra = extra or {}


def translations(language: str) -> gettext.NullTranslations:
    """The message catalogue for a language (``locales/<lang>/LC_MESSAGES/pilotline.mo``);
    English, the language the strings are written in, needs none."""
    return gettext.translation("pilotline", LOCALES, languages=[language], fallback=True)


def make_templates(language: str = "en") -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,  # the templates ship with the package: no mtime check per render
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = language
    env.globals["human"] = human_duration
    return Jinja2Templates(env=env)


@dataclass
class Web:
    home: Path
    store: Store
    users: Users
    templates: Jinja2Templates = field(default_factory=make_templates)
    _plant: Plant | None = field(default=None, repr=False)
    #: What :meth:`warm` computes ahead of the first open of a page (each route module adds its own).
    warmers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _plant_file: FileVersion = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._plant_file = FileVersion(self.home / "plant.toml")

    @property
    def plant_file(self) -> Path:
        return self.home / "plant.toml"

    def plant(self) -> Plant:
        """The plant model, parsed again only when the file changed; the model is frozen, so
        one copy serves every request."""
        content, changed = self._plant_file.read()
        if content is None or changed or self._plant is None:
            self._plant = None  # a file that does not load is never served from before
            self._plant = load_plant(self.plant_file)  # its own clear message when missing
        return self._plant

    def warm(self) -> None:
        """Fill the pages' caches that are empty (after a start, a new day, a change), so that the
        first person to open a pilot or a machine does not wait for its figures; a warmer that fails
        is logged and the next one runs."""
        for warmer in list(self.warmers):
            try:
                warmer()
            except Exception:  # a page opened later shows its own error
                log.warning("could not prepare a page ahead of time", exc_info=True)

    def figure_attr(self, figure: Any) -> Markup:
        """A chart's JSON for a ``data-figure`` attribute, as ``{{ fig | tojson | forceescape }}``
        gives it, for pages that keep it encoded rather than encode it per request."""
        env = self.templates.env
        dumps = env.policies["json.dumps_function"]
        kwargs = env.policies["json.dumps_kwargs"]
        return escape(str(htmlsafe_json_dumps(figure, dumps=dumps, **kwargs)))

    def csrf_token(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return str(token)

    def check_csrf(self, request: Request, token: str) -> None:
        if not token or not secrets.compare_digest(token, str(request.session.get("csrf", ""))):
            raise Problem(403, "Form expired", "Reload the page and try again (CSRF check failed).")

    def api_csrf(self, request: Request) -> None:
        """Writes through the API with a session cookie need the session's CSRF token in a header
        (a bearer token is not sent by browsers on their own, so it needs none)."""
        if not getattr(request.state, "token", False):
            self.check_csrf(request, request.headers.get("x-csrf-token", ""))

    def current_user(self, request: Request) -> User | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            user = self.users.by_token(auth[7:].strip())
            if user is None:
                raise Problem(401, "Unknown token", "The API token is not valid (or was revoked).")
            request.state.token = True
            return user
        sid = request.session.get("sid") if "session" in request.scope else None
        return self.users.by_session(sid) if isinstance(sid, str) else None

    def need(self, role: Role) -> Any:
        """A route dependency: the logged-in user, who must have at least ``role``."""

        def dependency(request: Request) -> User:
            user = self.current_user(request)
            if user is None:
                raise Problem(401, "Log in first", "This needs a logged-in user.")
            if not user.at_least(role):
                raise Problem(
                    403, "Not allowed", f"This needs the {role} role; you are {user.role}."
                )
            return user

        return Depends(dependency)

    def page(
        self, request: Request, template: str, user: User | None, status_code: int = 200, **ctx: Any
    ) -> Response:
        context = {"user": user, "csrf": self.csrf_token(request), **ctx}
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)
