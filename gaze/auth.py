"""Users, roles and passwords (scrypt), the login rate limit and the session secret.

No UI here: pages call `Users.verify`, the CLI calls `add/set_password/remove`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from gaze.db import UserRow
from gaze.roles import ADMIN as ADMIN  # found here too
from gaze.roles import ROLES as ROLES
from gaze.roles import VIEWER as VIEWER

log = logging.getLogger(__name__)

FIRST_ADMIN = "admin"
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
# scrypt cost: n=2**14, r=8, p=1 (16 MiB, ~50 ms on a Raspberry Pi 4)
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32


class AuthError(ValueError):
    """A user-management request that cannot be done; str() is the message to show."""


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_username(username: str) -> str:
    if not _USERNAME.match(username or ""):
        raise AuthError("A user name is 1–64 letters, digits or . _ @ -")
    return username


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(f"A password needs at least {MIN_PASSWORD} characters.")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(f"The role must be one of: {', '.join(ROLES)}.")
    return role


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str


def _existing(db: Session, username: str) -> UserRow:
    """The stored row of `username`; AuthError when there is no such user."""
    row = db.get(UserRow, username)
    if row is None:
        raise AuthError(f"No user {username}.")
    return row


class Users:
    """The user table, with roles kept in memory so every request can re-check them cheaply. The
    shell (`main.py users …`, another process) changes the table too: a login reads its user's row
    and `load()` runs on the runtime's clock, so such a change reaches the running app within
    seconds (a user removed there loses access, one added there can sign in)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._roles: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self) -> dict[str, str | None]:
        """Read every user's role; return the users whose role the table changed since the last
        read (None: removed) — a change this object made itself is known already."""
        with self._lock, Session(self.engine) as db:
            before, now = self._roles, {row.username: row.role for row in db.scalars(select(UserRow))}
            self._roles = now
        return {name: now.get(name) for name in before.keys() | now.keys() if before.get(name) != now.get(name)}

    def role_of(self, username: str | None) -> str | None:
        return self._roles.get(username or "")

    def list(self) -> list[User]:
        return [User(name, role) for name, role in sorted(self._roles.items())]

    def add(self, username: str, password: str, role: str = VIEWER) -> User:
        check_username(username)
        check_password(password)
        check_role(role)
        with self._lock:
            with Session(self.engine) as db, db.begin():
                if db.get(UserRow, username) is not None:
                    raise AuthError(f"User {username} exists already.")
                db.add(
                    UserRow(username=username, password_hash=hash_password(password), role=role, created_ms=_now_ms())
                )
            self._roles[username] = role
        log.info("user added: %s (%s)", username, role)
        return User(username, role)

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        with self._lock, Session(self.engine) as db, db.begin():
            row = _existing(db, username)
            row.password_hash = hash_password(password)
        log.info("password changed: %s", username)

    def set_role(self, username: str, role: str) -> None:
        check_role(role)
        with self._lock:
            with Session(self.engine) as db, db.begin():
                row = _existing(db, username)
                if row.role == ADMIN and role != ADMIN and self._admins(db) == 1:
                    raise AuthError("The last admin cannot lose the admin role.")
                row.role = role
            self._roles[username] = role

    def removal_refused(self, username: str) -> str | None:
        """Why `username` cannot be removed, or None: asked before the admin confirms (the roles in
        memory); `remove` asks the table again."""
        roles = self._roles
        return _last_admin(roles.get(username), sum(role == ADMIN for role in roles.values()))

    def remove(self, username: str) -> None:
        with self._lock:
            with Session(self.engine) as db, db.begin():
                row = _existing(db, username)
                if refused := _last_admin(row.role, self._admins(db)):
                    raise AuthError(refused)
                db.execute(delete(UserRow).where(UserRow.username == username))
            self._roles.pop(username, None)
        log.info("user removed: %s", username)

    def _admins(self, db: Session) -> int:
        return len(db.scalars(select(UserRow.username).where(UserRow.role == ADMIN)).all())

    def verify(self, username: str, password: str) -> User | None:
        """The user when the password is right, else None (same work either way)."""
        with Session(self.engine) as db:
            row = db.get(UserRow, username or "")
            stored = row.password_hash if row is not None else _dummy_hash()
            role = row.role if row is not None else None
        ok = verify_password(password or "", stored)
        if ok and role is not None:
            self._roles[username] = role  # the row as it is now, whoever wrote it
            return User(username, role)
        return None

    def ensure_first_admin(self) -> str | None:
        """With no users at all, create `admin` with a random password and return it (shown once)."""
        with Session(self.engine) as db:
            if db.scalars(select(UserRow.username).limit(1)).first() is not None:
                return None
        password = secrets.token_urlsafe(12)
        self.add(FIRST_ADMIN, password, ADMIN)
        return password


@functools.cache
def _last_admin(role: str | None, admins: int) -> str | None:
    """The one rule of removing users: the last admin stays (else nobody could manage users)."""
    return "The last admin cannot be removed." if role == ADMIN and admins == 1 else None


def _dummy_hash() -> str:
    """A hash to check a password against when the user does not exist (the same time either way).
    Made on first use, not at import: scrypt costs ~0.3 s, which every command line would pay."""
    return hash_password(secrets.token_hex(8))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class LoginLimiter:
    """After `max_failures` failed logins from one address, that address waits `lockout_s`.

    An attempt is counted when it starts (`reserve`, before the slow password hash), not when it
    has failed: many tries sent at once from one address get at most `max_failures` checks. A
    right password (`succeeded`) takes its attempt and the earlier failures back."""

    MAX_ADDRESSES = 10_000  # addresses remembered at once (the oldest are forgotten first)

    def __init__(self, max_failures: int = 5, lockout_s: float = 60.0) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._attempts: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def wait_s(self, address: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        return max(0.0, self._locked_until.get(address, 0.0) - now)

    def reserve(self, address: str, now: float | None = None) -> float:
        """Before checking a password: 0 means go ahead (the attempt now counts as a failure until
        `succeeded`); otherwise the seconds this address must still wait, and no check is made."""
        now = time.monotonic() if now is None else now
        wait = self.wait_s(address, now)
        if wait > 0:
            return wait
        recent = [t for t in self._attempts.pop(address, []) if now - t < self.lockout_s]
        if len(recent) >= self.max_failures:  # earlier attempts still being checked
            self._attempts[address] = recent
            return self.lockout_s
        recent.append(now)
        self._attempts[address] = recent  # re-inserted: the dict stays in least-recent-first order
        if len(recent) >= self.max_failures:
            self._locked_until[address] = now + self.lockout_s
            log.warning("login locked for %s for %.0f s after %d attempts", address, self.lockout_s, len(recent))
        while len(self._attempts) > self.MAX_ADDRESSES:
            oldest = next(iter(self._attempts))
            del self._attempts[oldest]
            self._locked_until.pop(oldest, None)
        return 0.0

    def failed(self, address: str, now: float | None = None) -> float:
        """After a wrong password (its attempt was reserved): the wait this address now has."""
        return self.wait_s(address, now)

    def succeeded(self, address: str) -> None:
        self._attempts.pop(address, None)
        self._locked_until.pop(address, None)


def session_secret(data_dir: Path) -> str:
    """The secret that signs session cookies: made once, kept in the data directory with mode 0600."""
    path = data_dir / "session_secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def safe_redirect(target: str | None) -> str:
    """A local path to go to after login; anything else (other hosts, schemes, `//x`) becomes `/`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target
