"""The interface of a simulated device: a physiological model in, the device's own protocol bytes out."""

from __future__ import annotations

from abc import ABC, abstractmethod


class DeviceSimulator(ABC):
    """Encodes what a real device of one protocol would send.

    The runner (a pseudo-terminal writer thread, an in-process link, or a fake Bluetooth client) calls
    :meth:`advance` with the time elapsed since the previous call and writes the returned bytes. Devices that answer
    commands (an NIBP module, an oximeter that needs a start command) implement :meth:`receive`.
    Simulated time is owned by the simulator, so a scenario runs faster than real time just as well.
    """

    protocol: str

    @abstractmethod
    def advance(self, dt_s: float) -> bytes:
        """The bytes the device emits during the next ``dt_s`` seconds of simulated time."""

    def receive(self, data: bytes) -> bytes:
        """Bytes written to the device by the host; returns any immediate reply."""
        return b""

    @property
    def connected(self) -> bool:
        """False while a scripted disconnection episode runs: the runner then drops the link."""
        return True
