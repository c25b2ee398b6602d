"""Why a control is greyed out for the user at the monitor, in one sentence for its tooltip."""

from __future__ import annotations

from kapmonitor.core.access import ROLES, User, roles_granting


def refusal_tip(user: User, permission: str, what: str) -> str:
    roles = " or ".join(roles_granting(permission))
    held = ", ".join(r for r in ROLES if r in user.roles)
    return f"Only a {roles} may {what}. {user.username} is logged in as {held}."
