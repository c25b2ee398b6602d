"""Who may do what: the clinic's roles, what each role permits, and a logged-in ``User``.

Roles and what each may do are data (``PERMISSIONS``): technicians set up devices and alarm profiles, nurses
enter doses, ratings and notes, clinicians sign sessions and may record a discharge with checklist items still
open (all three may change alarm limits for one session), administrators manage users. A person can hold
several roles. A clinic may grant a role more (``resources/clinic.toml``, read by the store): the store hands
out each ``User`` with what the clinic granted its roles in ``granted``. Accounts themselves live in the store
(``kapmonitor.store.users``); this is the vocabulary every layer shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kapmonitor.core.errors import UserError

ROLES = ("nurse", "clinician", "technician", "administrator")
PERMISSIONS: dict[str, frozenset[str]] = {
    "technician": frozenset({"device.configure", "alarm_profile.edit", "alarm.session_limits"}),
    "nurse": frozenset({"dose.enter", "rating.enter", "note.enter", "alarm.session_limits"}),
    "clinician": frozenset({"session.sign", "discharge.override", "alarm.session_limits"}),
    "administrator": frozenset({"user.manage"}),
}
MIN_PASSWORD_LENGTH = 8
DEMO_USERNAME = "demo"


@dataclass(frozen=True)
class User:
    username: str
    roles: frozenset[str]
    granted: frozenset[str] = field(default=frozenset(), compare=False)  # what the clinic adds to the roles

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset().union(*(PERMISSIONS[r] for r in self.roles)) | self.granted

    def may(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def is_demo(self) -> bool:
        return self.username == DEMO_USERNAME


def roles_granting(permission: str) -> list[str]:
    return [role for role in ROLES if permission in PERMISSIONS[role]]


def known_permissions() -> frozenset[str]:
    return frozenset().union(*PERMISSIONS.values())


def require(user: User, permission: str) -> None:
    """Raise a UserError naming the missing permission unless ``user`` holds it."""
    if user.may(permission):
        return
    if permission not in known_permissions():
        raise UserError(f"'{permission}' is not a kapmonitor permission")
    needed = " or ".join(roles_granting(permission))
    raise UserError(f"{user.username} may not do this: it needs the '{permission}' permission ({needed})")
