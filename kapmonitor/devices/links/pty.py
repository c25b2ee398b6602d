"""A simulated device on a pseudo-terminal, so the real pyserial path can be exercised without hardware.

The host opens :attr:`PtyDevice.port`, a symlink that keeps its name across :meth:`~PtyDevice.unplug` and
:meth:`~PtyDevice.replug`, the way a USB adapter comes back under the same /dev/serial/by-id name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import select
import shutil
import struct
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

from kapmonitor.devices.simulation.interface import DeviceSimulator

TICK_S = 0.02
# Bytes held while the pty takes no more; older ones are dropped, as a UART overruns.
MAX_PENDING = 64 * 1024
# While the host has not read this much, new data is dropped: a port opened late should not start with a
# backlog of stale seconds (a real adapter does not queue data for a port nobody has open).
UNREAD_LIMIT = 1024
DRAIN_TIMEOUT_S = 1.0


class PtyDevice:
    def __init__(
        self,
        simulator: DeviceSimulator,
        *,
        name: str = "device",
        speed: float = 1.0,
        max_chunk: int | None = None,
        seed: int = 0,
        keep_sent: bool = False,
    ) -> None:
        self.simulator = simulator
        self.name = name
        self.speed = speed
        self.max_chunk = max_chunk
        self._random = random.Random(seed)
        self._dir = Path(tempfile.mkdtemp(prefix="kapmonitor-pty-"))
        self.port = str(self._dir / name)
        self.bytes_written = 0  # bytes that reached the pty, injected garbage included
        self.bytes_dropped = 0  # bytes produced while nobody read the port
        self.sent: bytearray | None = bytearray() if keep_sent else None  # a copy of them, for tests
        self._fds: tuple[int, int] | None = None  # (master, slave)
        self._lock = threading.RLock()
        self._pending = bytearray()
        self._garbage: list[bytes] = []
        self._auto_unplugged = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def plugged(self) -> bool:
        return self._fds is not None

    @property
    def slave_path(self) -> str | None:
        """The /dev/pts path the link points at now (None while unplugged)."""
        return os.ttyname(self._fds[1]) if self._fds else None

    def start(self) -> PtyDevice:
        if self._thread is None:
            self.replug()
            self._thread = threading.Thread(target=self._run, name=f"kapmonitor-pty-{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def inject(self, garbage: bytes) -> None:
        """Splice these bytes into the stream at a random place in the next write (line noise, a glitch)."""
        with self._lock:
            self._garbage.append(bytes(garbage))

    def unplug(self) -> None:
        """Close the pty pair and remove the link, after the host has read what was already sent."""
        with self._lock:
            if self._fds is None:
                return
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while self._unread() > 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            self._close()

    def replug(self) -> None:
        """A new pty pair behind the same :attr:`port` name."""
        with self._lock:
            self._close()
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing: bytes pass unchanged both ways
            os.set_blocking(master, False)
            self._fds = (master, slave)
            tmp = self._dir / f".{self.name}.new"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(os.ttyname(slave))
            os.replace(tmp, self.port)

    def _close(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = None
        self._pending.clear()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)

    def _unread(self) -> int:
        """Bytes sent to the host that it has not read yet."""
        assert self._fds is not None
        try:
            raw = fcntl.ioctl(self._fds[1], termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return int(struct.unpack("i", raw)[0])

    # -- the writer thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            data = self.simulator.advance((now - last) * self.speed)
            last = now
            self._follow_connection()
            self._queue(data)
            self._write_pending()
            self._answer_host()

    def _queue(self, data: bytes) -> None:
        with self._lock:
            if self._fds is None:
                return  # unplugged: the device keeps measuring, nobody hears it
            if self._unread() > UNREAD_LIMIT:
                self.bytes_dropped += len(data)
                return
            self._pending += self._with_garbage(data)
            del self._pending[:-MAX_PENDING]

    def _follow_connection(self) -> None:
        """Scripted disconnect episodes pull the plug and put it back."""
        connected = self.simulator.connected
        if not connected and self.plugged:
            self._auto_unplugged = True
            self.unplug()
        elif connected and self._auto_unplugged:
            self._auto_unplugged = False
            self.replug()

    def _with_garbage(self, data: bytes) -> bytes:
        if not self._garbage:
            return data
        cut = self._random.randint(0, len(data))
        junk = b"".join(self._garbage)
        self._garbage.clear()
        return data[:cut] + junk + data[cut:]

    def _write_pending(self) -> None:
        while self._pending and not self._stop.is_set():
            with self._lock:
                if self._fds is None or not self._pending:
                    return
                size = len(self._pending)
                if self.max_chunk:
                    size = min(size, self._random.randint(1, self.max_chunk))
                try:
                    written = os.write(self._fds[0], self._pending[:size])
                except BlockingIOError:
                    return  # the host is not reading; keep the rest for the next tick
                except OSError:
                    return
                self.bytes_written += written
                if self.sent is not None:
                    self.sent += self._pending[:written]
                del self._pending[:written]
            if self.max_chunk:
                time.sleep(self._random.uniform(0.0002, 0.002))

    def _answer_host(self) -> None:
        with self._lock:
            if self._fds is None:
                return
            master = self._fds[0]
            ready, _, _ = select.select([master], [], [], 0)
            if not ready:
                return
            try:
                request = os.read(master, 4096)
            except OSError:
                return
            reply = self.simulator.receive(request)
            if reply:
                self._pending += reply
