"""A clinician account with a password, for the tests that sign a record (signing asks for it again)."""

from __future__ import annotations

from sqlalchemy import Engine

from kapmonitor.store.users import User, UserDirectory

CLINICIAN, CLINICIAN_PASSWORD = "dr.lee", "lee-password"
NURSE, NURSE_PASSWORD = "rn.kim", "kim-password"


def clinician(engine: Engine) -> User:
    """Dr Lee (clinician) and RN Kim (nurse), made once per database; returns Dr Lee as logged in."""
    users = UserDirectory(engine)
    if users.needs_first_admin():
        admin = users.create_first_admin("admin", "admin-password")
        users.add_user(admin, CLINICIAN, "clinician", CLINICIAN_PASSWORD)
        users.add_user(admin, NURSE, "nurse", NURSE_PASSWORD)
    return User(CLINICIAN, frozenset({"clinician"}))
