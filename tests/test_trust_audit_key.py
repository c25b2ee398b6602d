"""The audit key lives outside the database: in the system keyring where one works, else in a file only this
account can read. Which one is an explicit setting (KAPMONITOR_AUDIT_KEY_STORE) and each path is exercised."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from kapmonitor.store import audit_key as audit_key_module
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.audit_key import (
    AuditKeyError,
    FileKeyStore,
    KeyringKeyStore,
    audit_key,
    key_store,
    keyring_usable,
)
from kapmonitor.store.db import open_database


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps secrets in a dict: the seam where the OS keyring plugs into ``keyring``.
    Its priority is below zero so keyring's own discovery of backends never picks it on its own."""

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    audit_key_module._known.clear()
    yield backend
    keyring.set_keyring(before)
    audit_key_module._known.clear()


@pytest.fixture(autouse=True)
def _key_in_the_config_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests look at the key where an installation keeps it, not the test run's shared key file."""
    monkeypatch.delenv("KAPMONITOR_AUDIT_KEY_FILE", raising=False)
    monkeypatch.delenv("KAPMONITOR_AUDIT_KEY_STORE", raising=False)


def config() -> Path:
    return Path(os.environ["KAPMONITOR_CONFIG_DIR"])


def test_without_a_working_keyring_the_key_is_a_file_only_this_account_can_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_STORE", "file")
    assert audit_key(create=False) is None  # reading never creates
    key = audit_key(create=True)
    path = config() / "audit.key"
    assert key is not None and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert FileKeyStore(path).load() == key


def test_a_key_file_others_can_read_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    path = config() / "audit.key"
    store = FileKeyStore(path)
    store.create()
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="can be read by other accounts .mode 644.; make it 600"):
        store.load()


def test_a_damaged_key_file_is_one_clear_error() -> None:
    path = config() / "audit.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a key\n")
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match="is not a key kapmonitor wrote"):
        FileKeyStore(path).load()


def test_the_keyring_is_used_when_a_backend_works(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAPMONITOR_AUDIT_KEY_STORE", raising=False)
    assert keyring_usable()
    assert isinstance(key_store(), KeyringKeyStore)
    engine = open_database(f"sqlite:///{config() / 'k.sqlite'}")
    try:
        AuditTrail(engine).append("ada", "login", "ada")
        assert AuditTrail(engine).verify().intact
    finally:
        engine.dispose()
    assert ("kapmonitor", "audit-key") in memory_keyring.secrets
    assert not (config() / "audit.key").exists()


def test_a_key_file_can_be_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_STORE", "file")
    monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_FILE", str(tmp_path / "shared" / "clinic.key"))
    key = audit_key(create=True)
    assert FileKeyStore(tmp_path / "shared" / "clinic.key").load() == key


def test_the_setting_forces_the_file_even_with_a_keyring(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_STORE", "file")
    assert isinstance(key_store(), FileKeyStore)


def test_asking_for_a_keyring_where_none_works_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_STORE", "keyring")
        with pytest.raises(AuditKeyError, match="no keyring backend works"):
            key_store()
        monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_STORE", "auto")
        assert isinstance(key_store(), FileKeyStore)
        monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_STORE", "vault")
        with pytest.raises(AuditKeyError, match="use keyring, file or auto"):
            key_store()
    finally:
        keyring.set_keyring(before)
