"""A serial device through pyserial: a reader thread, arrival stamps, keepalives, reconnection with back-off.

When the port vanishes (a USB adapter pulled, a pty whose other side closed) the link reports a gap, keeps
retrying (0.2 s doubling to 5 s), and resumes under the same device id with fresh sample clocks. Given the
adapter's USB serial number, it also finds the adapter again when it comes back under a new port name.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import serial

from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import LinkEvent, LinkEventKind
from kapmonitor.devices.base import DeviceDescriptor, HostDriver, SerialSettings
from kapmonitor.devices.links.threaded import ThreadedLink
from kapmonitor.devices.links.transport import LinkState

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 5.0


def open_failure_message(port: str, exc: BaseException) -> str:
    """What a nurse or technician can act on when a port will not open."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT or (code is None and "No such file" in str(exc)):
        return f"serial port {port} not found: is the cable or USB adapter plugged in?"
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"permission denied opening {port}: add your user to the 'dialout' group "
            "(sudo usermod -aG dialout $USER) and log in again"
        )
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        return f"serial port {port} is busy: another program (or another kapmonitor) has it open"
    return f"cannot open serial port {port}: {exc}"


ListPorts = Callable[[], Iterable[Any]]  # serial.tools.list_ports.comports, or a stand-in in tests


def _comports() -> Iterable[Any]:
    from serial.tools import list_ports

    return list_ports.comports()


def port_with_serial_number(serial_number: str, list_ports: ListPorts = _comports) -> str | None:
    """The port a USB adapter with this serial number has now (None while it is unplugged)."""
    for port in list_ports():
        if getattr(port, "serial_number", None) == serial_number:
            return str(port.device)
    return None


class SerialTransport(ThreadedLink):
    thread_prefix = "kapmonitor-serial"

    def __init__(
        self,
        protocol: str | DeviceDescriptor,
        port: str,
        *,
        device: str | None = None,
        driver: HostDriver | None = None,
        settings: SerialSettings | None = None,
        capture: Path | str | None = None,
        serial_number: str | None = None,
        list_ports: ListPorts = _comports,
        tap: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__(protocol, port, device=device, driver=driver)
        self.port = port
        self.settings = settings or self.descriptor.serial or SerialSettings()
        self.capture = Path(capture) if capture is not None else None
        self.serial_number = serial_number  # the USB adapter's, to follow it to a new port name
        self._list_ports = list_ports
        self.tap = tap  # sees every byte read, before decoding (the Devices window's raw inspector)
        self._capture: BinaryIO | None = None

    def _opening(self) -> None:
        # opened here so a bad capture path fails in the caller, with its own message
        self._capture = self.capture.open("ab") if self.capture else None
        self._set_state(LinkState.CONNECTING, f"opening {self.port}")

    def _closing(self) -> None:
        if self._capture is not None:
            self._capture.close()

    def _failure_words(self) -> str:
        return f"internal error reading {self.port}"

    # -- the reader thread -----------------------------------------------------------------------------------

    def _serve(self) -> None:
        backoff = BACKOFF_FIRST_S
        had_link = False
        capture = self._capture
        while not self._stop.is_set():
            ser = self._open(LinkState.RECONNECTING if had_link else LinkState.CONNECTING)
            if ser is None:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_FIRST_S
            if had_link:
                self.reconnects += 1
            had_link = True
            self._set_state(LinkState.CONNECTED, f"receiving from {self.port}")
            try:
                reason = self._read_until_lost(ser, capture)
            finally:
                with contextlib.suppress(Exception):  # the port may already be gone
                    ser.close()
            if reason is not None:
                self._lost(reason)

    def _open(self, state_on_failure: LinkState) -> serial.Serial | None:
        try:
            return serial.Serial(self.port, **self.settings.as_pyserial(), timeout=READ_TIMEOUT_S, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            if self._follow_adapter():
                return self._open(state_on_failure)
            self._set_state(state_on_failure, open_failure_message(self.port, exc) + "; retrying")
            return None

    def _follow_adapter(self) -> bool:
        """When the adapter came back under another name, switch to it (True) and record the move."""
        if not self.serial_number:
            return False
        try:
            found = port_with_serial_number(self.serial_number, self._list_ports)
        except Exception:  # noqa: BLE001 - a failing port listing must not end the link
            log.exception("listing serial ports failed")
            return False
        if found is None or found == self.port:
            return False
        detail = f"USB adapter {self.serial_number} moved from {self.port} to {found}"
        self.port = found
        if self._publish is not None:
            self._publish([LinkEvent(LinkEventKind.PORT_MOVED, detail, now_us(), self.device)])
        return True

    def _read_until_lost(self, ser: serial.Serial, capture: BinaryIO | None) -> str | None:
        """Read and publish until stopped (returns None) or the port fails (returns what happened)."""
        keepalive = self.descriptor.keepalive
        try:
            if self.descriptor.start_command:
                ser.write(self.descriptor.start_command)
            next_keepalive = time.monotonic() + (keepalive.interval_s if keepalive else 0)
            while not self._stop.is_set():
                command = self._path.commands(time.monotonic())
                if command:
                    ser.write(command)
                data = ser.read(ser.in_waiting or 1)
                if keepalive and time.monotonic() >= next_keepalive:
                    ser.write(keepalive.payload)
                    next_keepalive = time.monotonic() + keepalive.interval_s
                if capture is not None and data:
                    capture.write(data)
                    capture.flush()
                if self.tap is not None and data:
                    self.tap(data)
                if data or self._path.driver is not None:  # a driver may report a timeout with nothing read
                    self._emit(self._path.feed(data, now_us()))
        except (serial.SerialException, OSError) as exc:
            return str(exc)
        return None

    def _lost(self, reason: str) -> None:
        self._path.reset()  # a partial frame before the gap cannot be completed by bytes after it
        message = f"lost the connection to {self.port}; reconnecting"
        self._set_state(LinkState.RECONNECTING, message)
        if self._publish is not None:
            self._publish([LinkEvent(LinkEventKind.GAP, f"{message} ({reason})", now_us(), self.device)])
