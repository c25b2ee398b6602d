"""The installation's audit key: the secret that seals the audit chain, kept outside the database.

Every audit entry's hash is an HMAC-SHA256 keyed by this secret (see ``store/audit.py``), so someone holding only
the database file cannot rewrite an entry and recompute the hashes after it. Where the key lives is one explicit
choice, ``KAPMONITOR_AUDIT_KEY_STORE``:

- ``keyring``: the operating system's keyring (Windows Credential Manager, macOS Keychain, Secret Service), through
  the ``keyring`` library, under service ``kapmonitor`` and name ``audit-key``;
- ``file``: ``audit.key`` in kapmonitor's configuration directory (or the file ``KAPMONITOR_AUDIT_KEY_FILE``
  names), created readable and writable only by this account (mode 0600); a key file that others can read is
  refused;
- unset or ``auto``: the keyring when it has a working backend, else the file.

Workstations that share one database (a clinic on PostgreSQL) must share one key: copy the key file (or the
keyring item) to each of them. Reading the key never creates one (``audit verify`` only reads); the first audit
entry an installation writes does.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kapmonitor.core.errors import UserError
from kapmonitor.core.paths import config_dir

STORE_SETTING = "KAPMONITOR_AUDIT_KEY_STORE"
FILE_SETTING = "KAPMONITOR_AUDIT_KEY_FILE"
KEYRING_SERVICE = "kapmonitor"
KEYRING_NAME = "audit-key"
KEY_FILE = "audit.key"
KEY_BYTES = 32


class AuditKeyError(UserError):
    """The audit key cannot be read, created or trusted."""


class KeyStore(Protocol):
    @property
    def where(self) -> str: ...

    def load(self) -> bytes | None: ...

    def create(self) -> bytes: ...


def _encode(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise AuditKeyError(f"the audit key in {where} is not a key kapmonitor wrote") from None
    if len(key) != KEY_BYTES:
        raise AuditKeyError(f"the audit key in {where} is {len(key)} bytes, not {KEY_BYTES}")
    return key


@dataclass
class FileKeyStore:
    """``audit.key`` in a directory (default: the configuration directory), mode 0600."""

    path: Path

    @property
    def where(self) -> str:
        return f"the key file {self.path}"

    def load(self) -> bytes | None:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return None
        except OSError as error:
            raise AuditKeyError(f"cannot read {self.where}: {error.strerror}") from None
        if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuditKeyError(
                f"{self.where} can be read by other accounts (mode {stat.S_IMODE(mode):o}); "
                f"make it 600 (chmod 600 {self.path}) and check nobody copied it"
            )
        try:
            return _decode(self.path.read_text(encoding="ascii"), self.where)
        except (OSError, UnicodeError) as error:
            raise AuditKeyError(f"cannot read {self.where}: {error}") from None

    def create(self) -> bytes:
        """A new key, unless another thread or process made one first (then that one)."""
        key = secrets.token_bytes(KEY_BYTES)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole under a temporary name, then linked into place: the link fails if a key is there
            # already, so two writers never end with two keys and nobody reads a half-written file.
            fd, temp = tempfile.mkstemp(prefix=".audit-key-", dir=self.path.parent)  # mode 0600
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(_encode(key) + "\n")
            try:
                os.link(temp, self.path)
            except FileExistsError:
                found = self.load()
                if found is None:
                    raise AuditKeyError(f"{self.where} appeared and vanished while it was created") from None
                return found
            finally:
                os.unlink(temp)
        except OSError as error:
            raise AuditKeyError(f"cannot create {self.where}: {error.strerror or error}") from None
        return key


@dataclass
class KeyringKeyStore:
    """The operating system's keyring, through the ``keyring`` library."""

    where: str = f"the system keyring (service {KEYRING_SERVICE!r}, name {KEYRING_NAME!r})"

    def load(self) -> bytes | None:
        import keyring
        from keyring.errors import KeyringError

        try:
            text = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        except KeyringError as error:
            raise AuditKeyError(f"cannot read {self.where}: {error}") from None
        return None if text is None else _decode(text, self.where)

    def create(self) -> bytes:
        import keyring
        from keyring.errors import KeyringError

        key = secrets.token_bytes(KEY_BYTES)
        try:
            keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, _encode(key))
        except KeyringError as error:
            raise AuditKeyError(f"cannot store the audit key in {self.where}: {error}") from None
        return key


def keyring_usable() -> bool:
    """Whether ``keyring`` has a backend that can keep a secret here (not its fail or null backends)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return False
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or type(backend).__module__.startswith("keyring.backends.null"):
        return False
    chained = getattr(backend, "backends", None)  # the chainer: usable only if it chains something
    return chained is None or bool(chained)


def key_store() -> KeyStore:
    """The store ``KAPMONITOR_AUDIT_KEY_STORE`` names (``keyring``, ``file`` or ``auto``)."""
    choice = os.environ.get(STORE_SETTING, "auto").strip().lower() or "auto"
    if choice not in ("auto", "keyring", "file"):
        raise AuditKeyError(f"{STORE_SETTING}={choice!r}: use keyring, file or auto")
    if choice == "keyring" or (choice == "auto" and keyring_usable()):
        if choice == "keyring" and not keyring_usable():
            raise AuditKeyError(f"{STORE_SETTING}=keyring but no keyring backend works on this computer")
        return KeyringKeyStore()
    named = os.environ.get(FILE_SETTING, "").strip()
    return FileKeyStore(Path(named).expanduser() if named else config_dir() / KEY_FILE)


_known: dict[str, bytes] = {}  # store -> key, so a keyring is asked once per process


def audit_key(*, create: bool) -> bytes | None:
    """This installation's audit key; with ``create`` a new one is made when there is none."""
    store = key_store()
    key = _known.get(store.where)
    if key is None:
        key = store.load()
        if key is None and create:
            key = store.create()
        if key is not None:
            _known[store.where] = key
    return key


def key_location() -> str:
    return key_store().where
