"""A throw-away PostgreSQL server on this computer: for the test suite, the benchmarks and ``make demo-clinic``.

A clinic runs kapmonitor against its own database server; this module only starts a private one from the
PostgreSQL binaries installed here (Debian's ``postgresql`` package puts them under /usr/lib/postgresql/N/bin),
in a folder of its own, listening on loopback on a free port, with trust authentication for loopback only.
PostgreSQL refuses to run as root, so when we are root the server runs as the ``postgres`` account that the
package creates (or ``KAPMONITOR_PG_USER``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kapmonitor.core.errors import UserError

SUPERUSER = "kapmonitor"  # the role initdb creates; trust authentication on loopback only
START_TIMEOUT_S = 30.0


class ServerUnavailable(UserError):
    """No PostgreSQL server binaries here, or the server did not start; the message says which."""


def server_bindir() -> Path | None:
    """The folder with initdb, pg_ctl and postgres, newest version first; None when PostgreSQL is not installed."""
    explicit = os.environ.get("KAPMONITOR_PG_BINDIR")
    candidates = [Path(explicit)] if explicit else []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        candidates += [v / "bin" for v in versions]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    """The account the server runs under: None for ourselves, a user name when we are root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("KAPMONITOR_PG_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError as error:
        raise ServerUnavailable(
            f"PostgreSQL does not run as root and there is no '{name}' account to run it as"
        ) from error
    return name


@dataclass
class LocalServer:
    """One private server: ``start()``, ``url(database)``, ``create_database(name)``, ``stop()``."""

    folder: Path | None = None
    port: int = field(default_factory=free_port)
    log_path: Path = field(init=False)
    _owned_folder: bool = field(init=False, default=False)
    _bindir: Path = field(init=False)
    _user: str | None = field(init=False, default=None)

    def start(self) -> LocalServer:
        bindir = server_bindir()
        if bindir is None:
            raise ServerUnavailable(
                "PostgreSQL server programs not found (install Debian's 'postgresql' package, or set "
                "KAPMONITOR_PG_BINDIR to the folder with initdb and pg_ctl)"
            )
        self._bindir = bindir
        self._user = _run_as()
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="kapmonitor-pg-"))
            self._owned_folder = True
        self.folder.mkdir(parents=True, exist_ok=True)
        data, sockets = self.folder / "data", self.folder / "sockets"
        sockets.mkdir(exist_ok=True)
        self.log_path = self.folder / "server.log"
        self.log_path.touch()
        if self._user is not None:
            account = pwd.getpwnam(self._user)
            for path in (self.folder, sockets, self.log_path):
                os.chown(path, account.pw_uid, account.pw_gid)
            self.folder.chmod(0o700)
        if not (data / "PG_VERSION").is_file():
            self._run(
                "initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-sync",
                "--locale=C",
            )
        options = (
            f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            self._run("pg_ctl", "-D", str(data), "-l", str(self.log_path), "-o", options, "-w",
                      "-t", str(int(START_TIMEOUT_S)), "start")
        except ServerUnavailable as error:
            raise ServerUnavailable(f"{error}; server log: {self.log_tail()}") from error
        return self

    def stop(self, *, mode: str = "fast") -> None:
        if self.folder is None or not (self.folder / "data" / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start on the same port and data (a server restart a station must ride through)."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        if self._owned_folder and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg  # the driver is a dependency; imported here so the module loads without it

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name we made up
        return self.url(name)

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bindir / program), *args]
        try:
            done = subprocess.run(
                command, user=self._user, cwd=self.folder, capture_output=True, text=True, timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ServerUnavailable(f"{program} failed: {error}") from error
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise ServerUnavailable(f"{program} failed: {detail[-1] if detail else done.returncode}")


def start_local_server(folder: Path | None = None) -> LocalServer:
    server = LocalServer(folder=folder)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            return server.start()
        except ServerUnavailable:
            # another process may have taken the free port between free_port() and the server's bind
            if time.monotonic() > deadline or "port" not in server.log_tail().lower():
                raise
            server.port = free_port()
