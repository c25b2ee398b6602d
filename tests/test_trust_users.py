"""Accounts and roles: argon2 hashes on disk, one message for any failed login, lockout, permissions as data."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from kapmonitor.core.access import PERMISSIONS, User, require
from kapmonitor.core.errors import UserError
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.users import LOGIN_FAILED, MAX_FAILED_LOGINS, UserDirectory

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only: real accounts use defaults


@pytest.fixture
def directory(engine: Engine) -> UserDirectory:
    return UserDirectory(engine, hasher=FAST)


def actions(engine: Engine) -> list[tuple[str, str, str]]:
    return [(e.user, e.action, e.subject) for e in AuditTrail(engine).entries()]


def test_a_fresh_database_asks_for_an_administrator_first(directory: UserDirectory, engine: Engine) -> None:
    assert directory.needs_first_admin()
    admin = directory.create_first_admin("ada", "correct horse")
    assert admin == User("ada", frozenset({"administrator"}))
    assert not directory.needs_first_admin()
    with pytest.raises(UserError, match="already has users"):
        directory.create_first_admin("eve", "another password")
    assert actions(engine) == [("ada", "user.first_admin", "ada")]


def test_passwords_are_stored_as_argon2id_hashes_never_as_text(
    directory: UserDirectory, engine: Engine
) -> None:
    directory.create_first_admin("ada", "correct horse")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM user_account")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


def test_the_default_hasher_is_argon2id_with_real_cost(engine: Engine) -> None:
    directory = UserDirectory(engine)
    directory.create_first_admin("ada", "correct horse")
    assert directory.authenticate("ada", "correct horse").username == "ada"
    assert directory.hasher.memory_cost >= 19 * 1024  # OWASP's floor for argon2id, in KiB


def test_only_administrators_add_users_and_each_addition_is_audited(
    directory: UserDirectory, engine: Engine
) -> None:
    admin = directory.create_first_admin("ada", "correct horse")
    nurse = directory.add_user(admin, "nina", "nurse", "nurse password")
    both = directory.add_user(admin, "dr.lee", ["clinician", "nurse"], "clinic password")
    assert both.roles == {"clinician", "nurse"}
    with pytest.raises(UserError, match="'user.manage' permission \\(administrator\\)"):
        directory.add_user(nurse, "mallory", "administrator", "sneaky password")
    with pytest.raises(UserError, match="unknown role surgeon"):
        directory.add_user(admin, "sam", "surgeon", "a password!")
    with pytest.raises(UserError, match="already a user nina"):
        directory.add_user(admin, "nina", "nurse", "nurse password")
    with pytest.raises(UserError, match="at least 8 characters"):
        directory.add_user(admin, "tom", "technician", "short")
    assert [u.username for u in directory.users()] == ["ada", "dr.lee", "nina"]
    assert actions(engine)[1:] == [("ada", "user.add", "nina"), ("ada", "user.add", "dr.lee")]
    added = AuditTrail(engine).entries()[2]
    assert added.data()["roles"] == ["clinician", "nurse"]
    assert added.data()["row"]["username"] == "dr.lee" and "password_hash" not in added.payload
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM user_account WHERE username = 'dr.lee'")).scalar()
    assert stored.startswith("$argon2id$") and stored not in added.payload  # the trail keeps a keyed digest


def test_an_unknown_name_and_a_wrong_password_fail_with_the_same_words(
    directory: UserDirectory, engine: Engine
) -> None:
    directory.create_first_admin("ada", "correct horse")
    with pytest.raises(UserError) as unknown:
        directory.authenticate("nobody", "correct horse")
    with pytest.raises(UserError) as wrong:
        directory.authenticate("ada", "wrong horse")
    assert str(unknown.value) == str(wrong.value) == LOGIN_FAILED
    assert directory.authenticate("ada", "correct horse") == User("ada", frozenset({"administrator"}))
    assert actions(engine)[1:] == [
        ("", "login.failed", "(unknown user)"),  # what was typed as a name may be a password: not kept
        ("ada", "login.failed", "ada"),
        ("ada", "login", "ada"),
    ]


def test_an_account_locks_after_repeated_failures_until_an_administrator_unlocks_it(
    directory: UserDirectory, engine: Engine
) -> None:
    admin = directory.create_first_admin("ada", "correct horse")
    directory.add_user(admin, "nina", "nurse", "nurse password")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(UserError, match=LOGIN_FAILED):
            directory.authenticate("nina", "guess")
    with pytest.raises(UserError, match="locked"):
        directory.authenticate("nina", "nurse password")  # even the right password waits for an administrator
    directory.unlock(admin, "nina")
    assert directory.authenticate("nina", "nurse password").username == "nina"
    assert ("ada", "user.unlock", "nina") in actions(engine)
    assert AuditTrail(engine).verify().intact


def test_a_successful_login_resets_the_failure_count(directory: UserDirectory) -> None:
    directory.create_first_admin("ada", "correct horse")
    for _ in range(3):
        for _ in range(MAX_FAILED_LOGINS - 1):
            with pytest.raises(UserError):
                directory.authenticate("ada", "guess")
        directory.authenticate("ada", "correct horse")


def test_each_role_may_do_its_own_work_and_nothing_else() -> None:
    tech = User("tim", frozenset({"technician"}))
    nurse = User("nina", frozenset({"nurse"}))
    clinician = User("dr.lee", frozenset({"clinician"}))
    admin = User("ada", frozenset({"administrator"}))
    assert tech.may("device.configure") and tech.may("alarm_profile.edit") and not tech.may("dose.enter")
    assert {p for p in nurse.permissions} == {"dose.enter", "rating.enter", "note.enter", "alarm.session_limits"}
    assert clinician.permissions == {"session.sign", "discharge.override", "alarm.session_limits"}
    assert tech.may("alarm.session_limits") and not nurse.may("alarm_profile.edit")
    assert admin.permissions == {"user.manage"}
    require(nurse, "dose.enter")
    with pytest.raises(UserError, match="nina may not do this: it needs the 'session.sign' permission"):
        require(nurse, "session.sign")
    with pytest.raises(UserError, match="not a kapmonitor permission"):
        require(admin, "launch.rockets")
    assert set(PERMISSIONS) == {"nurse", "clinician", "technician", "administrator"}


def test_the_demo_user_is_a_nurse_and_clinician_who_cannot_log_in_with_a_password(
    directory: UserDirectory, engine: Engine
) -> None:
    demo = directory.demo_user()
    assert demo.username == "demo" and demo.is_demo
    assert demo.may("dose.enter") and demo.may("session.sign") and not demo.may("user.manage")
    assert directory.demo_user() == demo  # created once
    assert [a for _, a, _ in actions(engine)] == ["user.demo"]
    for guess in ("", "demo", "!"):
        with pytest.raises(UserError, match=LOGIN_FAILED):
            directory.authenticate("demo", guess)
