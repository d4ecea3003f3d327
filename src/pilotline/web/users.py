"""Users of the web app: roles, argon2 password hashes, the lines an operator may see.

Roles, each able to do what the one below can:

* ``admin``    — everything, including users and the plant model;
* ``manager``  — every line's pages and data, imports;
* ``operator`` — only the lines assigned to them: their machines' pages and the reason tap.

Sessions live in the store (only a hash of their id), so they can be ended from anywhere: logout
ends one; a password or role change and the user's removal end all of that user's sessions, at the
next request, in every process. A session lasts at most ``SESSION_HOURS``.

User names are compared without regard to case (``Mia`` and ``mia`` are one user) and may not
hold invisible or control characters or ``/``; a password needs ``MIN_PASSWORD`` characters that
are not all blanks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.names import name_key
from pilotline.store import Store
from pilotline.web.cache import FileVersion

Role = Literal["admin", "manager", "operator"]
ROLES: tuple[Role, ...] = ("admin", "manager", "operator")
RANK = {"operator": 0, "manager": 1, "admin": 2}

_hasher = PasswordHasher()
TOKEN_ID_LEN = 12
SESSION_HOURS = 12
MIN_PASSWORD = 10
NAME_PUNCTUATION = " ._-@+'"


def clean_name(username: str) -> str:
    """A new user name as it is kept (NFKC, trimmed), or InputError saying what is wrong with it."""
    name = unicodedata.normalize("NFKC", username).strip()
    if not name or len(name) > 64:
        raise InputError("a user name needs 1 to 64 characters")
    for ch in name:
        if not (ch.isalnum() or ch in NAME_PUNCTUATION):
            shown = repr(ch) if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"
            raise InputError(
                f"a user name may hold letters, digits, spaces and {NAME_PUNCTUATION.strip()} "
                f"only, not {shown}"
            )
    if "  " in name:
        raise InputError("a user name may not hold two spaces in a row")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or not password.strip():
        raise InputError(
            f"a password needs at least {MIN_PASSWORD} characters, and not only blanks"
        )
    if len(password) > 1024:
        raise InputError("a password may be at most 1,024 characters")


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    lines: tuple[str, ...]
    account: str | None = None  # random per account; None for accounts made before it existed

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]

    def sees_line(self, line: str) -> bool:
        return self.role != "operator" or line in self.lines


class Users:
    """Users and tokens in the store, with a cache for the lookup every request makes.

    Opening the store costs milliseconds, too much for every request. Every change bumps a small
    version file next to the store (from any process: the web app, ``pilotline user``); lookups are
    cached while that file is unchanged, so a removed user or a revoked token is refused at the
    very next request.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version_file = store.home / ".users-version"
        self._version = FileVersion(self._version_file)
        self._users: dict[str, User | None] = {}
        self._tokens: dict[str, str | None] = {}
        self._sessions: dict[str, tuple[str, dt.datetime] | None] = {}

    def _fresh(self) -> None:
        """Forget cached lookups if any process changed users or tokens since."""
        _content, changed = self._version.read()
        if changed:
            self._users, self._tokens, self._sessions = {}, {}, {}

    def _changed(self) -> None:
        tmp = self._version_file.with_suffix(f".{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_hex(16))
        tmp.replace(self._version_file)
        self._users, self._tokens, self._sessions = {}, {}, {}

    def count(self) -> int:
        with self.store.session() as s:
            return int(s.scalar("SELECT count(*) FROM users"))

    def add(
        self, username: str, password: str, *, role: Role, lines: list[str] | None = None
    ) -> User:
        name = clean_name(username)
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        check_password(password)
        account = secrets.token_hex(8)
        with self.store.session(write=True) as s:
            names = s.arrow("SELECT username FROM users").column("username").to_pylist()
            same = next((n for n in names if name_key(n) == name_key(name)), None)
            if same is not None:
                raise InputError(f"there is already a user called {same!r}")
            # Sessions of an earlier user of that name (removed) must not carry over.
            s.execute("DELETE FROM web_sessions WHERE username = ?", [name])
            s.execute(
                "INSERT INTO users (username, role, password_hash, lines, created_at, account_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    name,
                    role,
                    _hasher.hash(password),
                    json.dumps(lines or []),
                    clock.utc_naive(),
                    account,
                ],
            )
        self._changed()
        return User(name, role, tuple(lines or []), account)

    def get(self, username: str) -> User | None:
        self._fresh()
        if username not in self._users:
            self._users[username] = self._load(username)
        return self._users[username]

    def _load(self, username: str) -> User | None:
        with self.store.session() as s:
            rows = s.arrow(
                "SELECT username, role, lines, account_id FROM users WHERE username = ?", [username]
            ).to_pylist()
        if not rows:
            return None
        r = rows[0]
        return User(r["username"], r["role"], tuple(json.loads(r["lines"])), r["account_id"])

    def check(self, username: str, password: str) -> User | None:
        """The user if the password is right; None otherwise (same work either way). The name
        is matched without regard to case."""
        key = name_key(username[:200])
        with self.store.session() as s:
            every = s.arrow("SELECT username, password_hash FROM users").to_pylist()
        rows = [r for r in every if name_key(r["username"]) == key]
        stored = rows[0]["password_hash"] if rows else _DUMMY
        try:
            _hasher.verify(stored, password[:1024])
        except (VerificationError, InvalidHashError):
            return None
        return self.get(rows[0]["username"]) if rows else None

    # -- sessions ---------------------------------------------------------------------------------
    def start_session(self, username: str) -> str:
        """A new session for the user; its id goes into the signed cookie, its hash into the store."""
        sid = secrets.token_urlsafe(32)
        now = clock.utc_naive()
        with self.store.session(write=True) as s:
            s.execute("DELETE FROM web_sessions WHERE expires_at <= ?", [now])
            s.execute(
                "INSERT INTO web_sessions VALUES (?, ?, ?, ?)",
                [_digest(sid), username, now, now + dt.timedelta(hours=SESSION_HOURS)],
            )
        return sid

    def by_session(self, sid: str) -> User | None:
        """The user of a session that has not ended or expired; None otherwise."""
        digest = _digest(sid)
        self._fresh()
        if digest not in self._sessions:
            with self.store.session() as s:
                rows = s.arrow(
                    "SELECT username, expires_at FROM web_sessions WHERE session_hash = ?",
                    [digest],
                ).to_pylist()
            if len(self._sessions) > 10_000:
                self._sessions.clear()
            self._sessions[digest] = (rows[0]["username"], rows[0]["expires_at"]) if rows else None
        found = self._sessions[digest]
        if found is None or found[1] <= clock.utc_naive():
            return None
        return self.get(found[0])

    def end_session(self, sid: str) -> None:
        """Log one session out, in every process at its next request."""
        with self.store.session(write=True) as s:
            s.execute("DELETE FROM web_sessions WHERE session_hash = ?", [_digest(sid)])
        self._changed()

    def sessions(self, username: str) -> int:
        """How many sessions of the user are open."""
        with self.store.session() as s:
            return int(
                s.scalar(
                    "SELECT count(*) FROM web_sessions WHERE username = ? AND expires_at > ?",
                    [username, clock.utc_naive()],
                )
            )

    def all_users(self) -> list[User]:
        with self.store.session() as s:
            rows = s.arrow(
                "SELECT username, role, lines, account_id FROM users ORDER BY username"
            ).to_pylist()
        return [
            User(r["username"], r["role"], tuple(json.loads(r["lines"])), r["account_id"])
            for r in rows
        ]

    def new_token(self, username: str, name: str) -> str:
        """A new API token for the user (shown once; only its hash is stored)."""
        if self.get(username) is None:
            raise InputError(f"there is no user called {username!r}")
        token = "plt_" + secrets.token_urlsafe(32)
        with self.store.session(write=True) as s:
            s.execute(
                "INSERT INTO api_tokens VALUES (?, ?, ?, ?)",
                [
                    _digest(token),
                    username,
                    name.strip() or "token",
                    clock.utc_naive(),
                ],
            )
        self._changed()
        return token

    def by_token(self, token: str) -> User | None:
        digest = _digest(token)
        self._fresh()
        if digest not in self._tokens:
            with self.store.session() as s:
                rows = s.arrow(
                    "SELECT username FROM api_tokens WHERE token_hash = ?", [digest]
                ).to_pylist()
            if len(self._tokens) > 10_000:  # made-up tokens must not grow the cache forever
                self._tokens.clear()
            self._tokens[digest] = rows[0]["username"] if rows else None
        name = self._tokens[digest]
        return self.get(name) if name else None

    def update(
        self,
        username: str,
        *,
        role: Role | None = None,
        lines: list[str] | None = None,
        password: str | None = None,
    ) -> User:
        """Change a user's role, lines or password; the last admin cannot stop being one."""
        user = self.get(username)
        if user is None:
            raise NotFound(f"there is no user called {username!r}")
        if role is not None and role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if role is not None and role != "admin":
            self._keep_an_admin(username)
        if password is not None:
            check_password(password)
        with self.store.session(write=True) as s:
            if (role is not None and role != user.role) or password is not None:
                # A new password or role ends every session: whoever had the old one is out.
                s.execute("DELETE FROM web_sessions WHERE username = ?", [username])
            if role is not None:
                s.execute("UPDATE users SET role = ? WHERE username = ?", [role, username])
            if lines is not None:
                s.execute(
                    "UPDATE users SET lines = ? WHERE username = ?", [json.dumps(lines), username]
                )
            if password is not None:
                s.execute(
                    "UPDATE users SET password_hash = ? WHERE username = ?",
                    [_hasher.hash(password), username],
                )
        self._changed()
        updated = self.get(username)
        assert updated is not None
        return updated

    def remove(self, username: str) -> None:
        """Delete a user, their API tokens and sessions (which end at the next request)."""
        if self.get(username) is None:
            raise NotFound(f"there is no user called {username!r}")
        self._keep_an_admin(username)
        with self.store.session(write=True) as s:
            s.execute("DELETE FROM api_tokens WHERE username = ?", [username])
            s.execute("DELETE FROM web_sessions WHERE username = ?", [username])
            s.execute("DELETE FROM users WHERE username = ?", [username])
        self._changed()

    def _keep_an_admin(self, username: str) -> None:
        with self.store.session() as s:
            others = s.scalar(
                "SELECT count(*) FROM users WHERE role = 'admin' AND username <> ?", [username]
            )
            is_admin = s.scalar(
                "SELECT count(*) FROM users WHERE role = 'admin' AND username = ?", [username]
            )
        if is_admin and not others:
            raise InputError(f"{username!r} is the only admin; make someone else admin first")

    def tokens(self, username: str | None = None) -> list[dict[str, Any]]:
        """API tokens (never the token itself): id (the start of its hash), user, name, created."""
        sql = "SELECT token_hash, username, name, created_at FROM api_tokens"
        params: list[Any] = []
        if username is not None:
            sql += " WHERE username = ?"
            params.append(username)
        with self.store.session() as s:
            rows = s.arrow(sql + " ORDER BY created_at, name", params).to_pylist()
        return [
            {
                "id": r["token_hash"][:TOKEN_ID_LEN],
                "username": r["username"],
                "name": r["name"],
                "created_at": r["created_at"].replace(tzinfo=dt.UTC).isoformat(),
            }
            for r in rows
        ]

    def revoke(self, token_id: str, *, username: str | None = None) -> None:
        """Revoke the token whose hash starts with ``token_id`` (only the user's own if named)."""
        if len(token_id) != TOKEN_ID_LEN or not all(c in "0123456789abcdef" for c in token_id):
            raise InputError(f"a token id is {TOKEN_ID_LEN} hexadecimal characters")
        mine = [t for t in self.tokens(username) if t["id"] == token_id]
        if not mine:
            raise NotFound(f"no API token with id {token_id!r}")
        with self.store.session(write=True) as s:
            s.execute("DELETE FROM api_tokens WHERE token_hash LIKE ?", [token_id + "%"])
        self._changed()

    def create_first_admin(self) -> str | None:
        """With no users yet, create ``admin`` with a random password and return it (shown once)."""
        if self.count():
            return None
        password = secrets.token_urlsafe(12)
        self.add("admin", password, role="admin")
        return password


def token_id(token: str) -> str:
    """The id people use to revoke a token: the start of its hash (the token is never stored)."""
    return _digest(token)[:TOKEN_ID_LEN]


def _digest(token: str) -> str:
    """Tokens are long and random: a plain SHA-256 is enough to keep them out of a stolen store."""
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY = _hasher.hash("not a real password, only to take the same time")
