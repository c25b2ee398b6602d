"""Clinic user accounts: passwords kept as argon2id hashes, logins and changes audited.

Who may do what (roles, permissions, ``User``) is ``kapmonitor.core.access``. The first account on a fresh
database must be an administrator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, exc, func, insert, select, update

from kapmonitor.core.access import DEMO_USERNAME, MIN_PASSWORD_LENGTH, ROLES, User, known_permissions, require
from kapmonitor.core.clock import now_us
from kapmonitor.core.errors import UserError
from kapmonitor.session.datafile import RESOURCES, Fields, read_toml
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import inserted_id
from kapmonitor.store.header_proof import vouch_in
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
        administrator = frozenset({"administrator"})
        return self._insert(username, administrator, password, by="", action="user.first_admin", user=username)

    def add_user(self, by: User, username: str, role: str | Iterable[str], password: str) -> User:
        require(by, "user.manage")
        return self._insert(username, _roles(role), password, by=by.username, action="user.add")

    def unlock(self, by: User, username: str) -> None:
        require(by, "user.manage")
        with self.engine.begin() as conn:
            done = conn.execute(update(_users).where(_users.c.username == username).values(failed_logins=0))
        if not done.rowcount:
            raise UserError(f"no user {username}")
        self.audit.append(by.username, "user.unlock", username)

    def set_roles(self, by: User, username: str, roles: str | Iterable[str]) -> User:
        """Give ``username`` these roles (an administrator's act); the last active administrator keeps theirs."""
        require(by, "user.manage")
        new = _roles(roles)

        def write(conn: Connection) -> frozenset[str]:
            row = _account(conn, username)
            was = frozenset(row.roles.split(","))
            if "administrator" in was - new and row.active:
                _keep_an_administrator(conn, username, "take the administrator role from")
            conn.execute(update(_users).where(_users.c.id == row.id).values(roles=",".join(sorted(new))))
            about = {"roles": sorted(new), "was": sorted(was)}
            vouch_in(conn, by.username, "user.roles", _users, row.id, subject=username, about=about)
            return was

        self.audit.commit_with(write)
        return clinic_user(username, new)

    def set_password(self, by: User, username: str, password: str) -> None:
        """A new password for ``username``: set by an administrator, or by the person themself (logged in)."""
        if by.username != username:
            require(by, "user.manage")
        stored = self._new_hash(password)

        def write(conn: Connection) -> None:
            row = _account(conn, username)
            conn.execute(update(_users).where(_users.c.id == row.id).values(password_hash=stored))
            about = {"by": "themself" if by.username == username else "an administrator"}
            vouch_in(conn, by.username, "user.password", _users, row.id, subject=username, about=about)

        self.audit.commit_with(write)

    def deactivate(self, by: User, username: str) -> None:
        """``username`` can no longer log in or sign; the account and everything it did stay on record."""
        require(by, "user.manage")
        if by.username == username:
            raise UserError("you cannot deactivate your own account: another administrator can")
        self._set_active(by, username, False)

    def reactivate(self, by: User, username: str) -> None:
        require(by, "user.manage")
        self._set_active(by, username, True)

    def is_active(self, username: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(select(_users.c.active).where(_users.c.username == username)).scalar())

    def _set_active(self, by: User, username: str, active: bool) -> None:
        def write(conn: Connection) -> None:
            row = _account(conn, username)
            if row.active == active:
                raise UserError(f"{username} is already {'active' if active else 'deactivated'}")
            if not active and "administrator" in row.roles.split(","):
                _keep_an_administrator(conn, username, "deactivate")
            conn.execute(update(_users).where(_users.c.id == row.id).values(active=active))
            action = "user.reactivate" if active else "user.deactivate"
            vouch_in(conn, by.username, action, _users, row.id, subject=username)

        self.audit.commit_with(write)

    def demo_user(self) -> User:
        """The account ``--demo`` runs as (nurse and clinician, named "demo"), created without a password
        that anyone could type: demo mode signs in with :meth:`demo_user`, never through :meth:`authenticate`."""
        with self.engine.connect() as conn:
            found = conn.execute(select(_users.c.roles).where(_users.c.username == DEMO_USERNAME)).scalar()
        if found is None:
            self._insert(DEMO_USERNAME, DEMO_ROLES, None, by="--demo", action="user.demo", user=DEMO_USERNAME)
        return clinic_user(DEMO_USERNAME, DEMO_ROLES)

    def users(self) -> list[User]:
        """The active accounts (:meth:`accounts` lists the deactivated ones too)."""
        return [user for user, active in self.accounts() if active]

    def accounts(self) -> list[tuple[User, bool]]:
        """Every account with whether it is active, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_users.c.username, _users.c.roles, _users.c.active).order_by(_users.c.username)
            ).all()
        return [(clinic_user(name, frozenset(roles.split(","))), bool(active)) for name, roles, active in rows]

    def confirm_password(self, username: str, password: str) -> User:
        """The password typed again to sign: checked (and a wrong one counted and audited) as a login is; a
        right one is not audited as a login, since the act it confirms is audited in its own name."""
        return self.authenticate(username, password, audit_success=False)

    def authenticate(self, username: str, password: str, *, audit_success: bool = True) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_users.c.id, _users.c.roles, _users.c.password_hash, _users.c.failed_logins, _users.c.active)
                .where(_users.c.username == username)
            ).first()
        if row is None:
            self._matches(self._decoy, password + "x")
            # Not the typed name: people type their password into the name field, and this log is forever.
            self.audit.append("", "login.failed", "(unknown user)", {"reason": "unknown user"})
            raise UserError(LOGIN_FAILED)
        row_id, roles, stored, failed, active = row
        if not active:
            self._matches(self._decoy, password + "x")
            self.audit.append(username, "login.refused", username, {"reason": "deactivated"})
            raise UserError("this account is deactivated; an administrator can reactivate it")
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
        if self.hasher.check_needs_rehash(stored):
            rehashed = self.hasher.hash(password)

            def rehash(conn: Connection) -> None:
                conn.execute(update(_users).where(_users.c.id == row_id).values(password_hash=rehashed))
                vouch_in(conn, username, "user.rehash", _users, row_id, subject=username)

            self.audit.commit_with(rehash)
        if failed:
            with self.engine.begin() as conn:
                conn.execute(update(_users).where(_users.c.id == row_id).values(failed_logins=0))
        if audit_success:
            self.audit.append(username, "login", username)
        return clinic_user(username, frozenset(roles.split(",")))

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _new_hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        return self.hasher.hash(password)

    def _insert(
        self,
        username: str,
        roles: frozenset[str],
        password: str | None,
        *,
        by: str,
        action: str,
        user: str | None = None,
    ) -> User:
        """Add an account, vouched for by the audit entry ``action`` (audited as ``by``, or ``user``)."""
        username = username.strip()
        if not username or len(username) > 100 or "," in username:
            raise UserError("a user name is 1 to 100 characters, without commas")
        # None: no password matches ("!" is not an argon2 hash); demo mode logs in without one
        stored = "!" if password is None else self._new_hash(password)
        values = {
            "username": username,
            "roles": ",".join(sorted(roles)),
            "password_hash": stored,
            "failed_logins": 0,
            "created_us": now_us(),
            "created_by": by,
            "active": True,
        }

        def write(conn: Connection) -> None:
            row_id = inserted_id(conn.execute(insert(_users).values(**values)))
            about = {"roles": sorted(roles)}
            vouch_in(conn, by if user is None else user, action, _users, row_id, subject=username, about=about)

        try:
            self.audit.commit_with(write)
        except exc.IntegrityError as error:
            if "audit_entry" in str(error.orig):
                raise
            raise UserError(f"there is already a user {username}") from None
        return clinic_user(username, roles)


def _account(conn: Connection, username: str) -> Any:
    row = conn.execute(
        select(_users.c.id, _users.c.roles, _users.c.active).where(_users.c.username == username)
    ).first()
    if row is None:
        raise UserError(f"no user {username}")
    return row


def _keep_an_administrator(conn: Connection, username: str, doing: str) -> None:
    others = conn.execute(
        select(func.count())
        .select_from(_users)
        .where(_users.c.username != username, _users.c.active.is_(True), _users.c.roles.contains("administrator"))
    ).scalar_one()
    if not others:
        raise UserError(f"cannot {doing} {username}: it is the last active administrator account")
