"""Clinic user accounts: passwords kept as argon2id hashes, logins and changes audited.

Who may do what (roles, permissions, ``User``) is ``kapmonitor.core.access``. The first account on a fresh
database must be an administrator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, exc, func, insert, select, update

from kapmonitor.core.access import DEMO_USERNAME, MIN_PASSWORD_LENGTH, ROLES, User, known_permissions, require
from kapmonitor.core.clock import now_us
from kapmonitor.core.errors import UserError
from kapmonitor.session.datafile import RESOURCES, Fields, read_toml
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.tables import UserAccount

MAX_FAILED_LOGINS = 5
DEMO_ROLES = frozenset({"nurse", "clinician"})
# One message for an unknown name and a wrong password, so a login screen does not tell which names exist.
LOGIN_FAILED = "wrong user name or password"

_users = UserAccount.__table__
CLINIC_FILE = RESOURCES / "clinic.toml"


def read_grants(path: Path | str = CLINIC_FILE) -> dict[str, frozenset[str]]:
    """The permissions a clinic adds to roles (``[grants]`` of its clinic file; none when the file is absent)."""
    path = Path(path)
    if not path.exists():
        return {}
    grants = Fields(str(path), read_toml(path), "").sub("grants", required=False)
    known = known_permissions()
    found: dict[str, frozenset[str]] = {}
    for role, permissions in grants.table.items():
        if role not in ROLES:
            raise grants.fail(f"unknown role {role!r} (roles are {', '.join(ROLES)})")
        if not isinstance(permissions, list) or not all(p in known for p in permissions):
            raise grants.fail(f"{role} must list permissions among {', '.join(sorted(known))}")
        found[role] = frozenset(permissions)
    return found


@cache
def clinic_grants() -> dict[str, frozenset[str]]:
    return read_grants()


def clinic_user(username: str, roles: frozenset[str], grants: Mapping[str, frozenset[str]] | None = None) -> User:
    """A ``User`` with what the clinic (``grants``, default its clinic file) adds to the roles."""
    extra = clinic_grants() if grants is None else grants
    return User(username, roles, frozenset().union(*(extra.get(r, frozenset()) for r in roles)))


def _roles(roles: str | Iterable[str]) -> frozenset[str]:
    found = frozenset([roles] if isinstance(roles, str) else roles)
    unknown = sorted(found - set(ROLES))
    if unknown or not found:
        raise UserError(f"unknown role {', '.join(unknown) or '(none)'}: roles are {', '.join(ROLES)}")
    return found


class UserDirectory:
    def __init__(
        self, engine: Engine, *, hasher: PasswordHasher | None = None, audit: AuditTrail | None = None
    ):
        self.engine = engine
        self.hasher = hasher or PasswordHasher()  # argon2id with the library's RFC 9106 defaults
        self.audit = audit or AuditTrail(engine)
        # Verified against when the name is unknown, so that answer takes as long as a wrong password.
        self._decoy = self.hasher.hash("kapmonitor decoy password")

    def needs_first_admin(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(_users)).scalar_one() == 0

    def create_first_admin(self, username: str, password: str) -> User:
        if not self.needs_first_admin():
            raise UserError("this database already has users: an administrator adds new ones")
        user = self._insert(username, frozenset({"administrator"}), password, created_by="")
        self.audit.append(username, "user.first_admin", username, {"roles": ["administrator"]})
        return user

    def add_user(self, by: User, username: str, role: str | Iterable[str], password: str) -> User:
        require(by, "user.manage")
        user = self._insert(username, _roles(role), password, created_by=by.username)
        self.audit.append(by.username, "user.add", username, {"roles": sorted(user.roles)})
        return user

    def unlock(self, by: User, username: str) -> None:
        require(by, "user.manage")
        with self.engine.begin() as conn:
            done = conn.execute(update(_users).where(_users.c.username == username).values(failed_logins=0))
        if not done.rowcount:
            raise UserError(f"no user {username}")
        self.audit.append(by.username, "user.unlock", username)

    def demo_user(self) -> User:
        """The account ``--demo`` runs as (nurse and clinician, named "demo"), created without a password
        that anyone could type: demo mode signs in with :meth:`demo_user`, never through :meth:`authenticate`."""
        with self.engine.connect() as conn:
            found = conn.execute(select(_users.c.roles).where(_users.c.username == DEMO_USERNAME)).scalar()
        if found is None:
            self._insert(DEMO_USERNAME, DEMO_ROLES, None, created_by="--demo")
            self.audit.append(DEMO_USERNAME, "user.demo", DEMO_USERNAME, {"roles": sorted(DEMO_ROLES)})
        return clinic_user(DEMO_USERNAME, DEMO_ROLES)

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_users.c.username, _users.c.roles).order_by(_users.c.username)).all()
        return [clinic_user(name, frozenset(roles.split(","))) for name, roles in rows]

    def confirm_password(self, username: str, password: str) -> User:
        """The password typed again to sign: checked (and a wrong one counted and audited) as a login is; a
        right one is not audited as a login, since the act it confirms is audited in its own name."""
        return self.authenticate(username, password, audit_success=False)

    def authenticate(self, username: str, password: str, *, audit_success: bool = True) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_users.c.roles, _users.c.password_hash, _users.c.failed_logins).where(
                    _users.c.username == username
                )
            ).first()
        if row is None:
            self._matches(self._decoy, password + "x")
            # Not the typed name: people type their password into the name field, and this log is forever.
            self.audit.append("", "login.failed", "(unknown user)", {"reason": "unknown user"})
            raise UserError(LOGIN_FAILED)
        roles, stored, failed = row
        if failed >= MAX_FAILED_LOGINS:
            self.audit.append(username, "login.refused", username, {"reason": "locked"})
            raise UserError(
                f"this account is locked after {MAX_FAILED_LOGINS} failed logins; an administrator can unlock it"
            )
        if not self._matches(stored, password):
            with self.engine.begin() as conn:
                conn.execute(
                    update(_users)
                    .where(_users.c.username == username)
                    .values(failed_logins=_users.c.failed_logins + 1)
                )
            self.audit.append(username, "login.failed", username, {"reason": "wrong password"})
            raise UserError(LOGIN_FAILED)
        values: dict[str, object] = {"failed_logins": 0}
        if self.hasher.check_needs_rehash(stored):
            values["password_hash"] = self.hasher.hash(password)
        with self.engine.begin() as conn:
            conn.execute(update(_users).where(_users.c.username == username).values(**values))
        if audit_success:
            self.audit.append(username, "login", username)
        return clinic_user(username, frozenset(roles.split(",")))

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _insert(self, username: str, roles: frozenset[str], password: str | None, created_by: str) -> User:
        username = username.strip()
        if not username or len(username) > 100 or "," in username:
            raise UserError("a user name is 1 to 100 characters, without commas")
        if password is None:
            stored = "!"  # no password matches: argon2 rejects it as not a hash
        elif len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        else:
            stored = self.hasher.hash(password)
        values = {
            "username": username,
            "roles": ",".join(sorted(roles)),
            "password_hash": stored,
            "failed_logins": 0,
            "created_us": now_us(),
            "created_by": created_by,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_users).values(**values))
        except exc.IntegrityError:
            raise UserError(f"there is already a user {username}") from None
        return clinic_user(username, roles)
