"""What every protocol provides: an incremental decoder, counters of link quality, and a descriptor as data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, TypedDict

from kapmonitor.core.readings import Item

if TYPE_CHECKING:
    from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel


@dataclass
class LinkStats:
    """Link-quality counters a decoder keeps. Read them through :meth:`snapshot` from another thread."""

    bytes_in: int = 0
    frames_ok: int = 0
    checksum_errors: int = 0
    resyncs: int = 0
    bytes_discarded: int = 0

    def snapshot(self) -> LinkStats:
        return LinkStats(self.bytes_in, self.frames_ok, self.checksum_errors, self.resyncs, self.bytes_discarded)


class Decoder(ABC):
    """A pure, incremental protocol decoder: bytes in, items out.

    ``feed`` never trusts read boundaries, keeps a bounded buffer, resynchronises after garbage, and never raises
    whatever bytes it is given: bad input becomes :class:`~kapmonitor.core.readings.DecodeError` items and counters.
    For Bluetooth characteristics one ``feed`` call is one notification.
    """

    protocol: ClassVar[str]
    max_buffer: ClassVar[int] = 4096

    def __init__(self) -> None:
        self.stats = LinkStats()

    @abstractmethod
    def feed(self, data: bytes) -> list[Item]:
        """Decode what ``data`` completes; keep any partial frame for the next call."""


class PySerialOptions(TypedDict):
    """The keyword arguments of ``serial.Serial`` that :class:`SerialSettings` sets."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: float
    xonxoff: bool
    rtscts: bool


@dataclass(frozen=True)
class SerialSettings:
    baudrate: int = 9600
    bytesize: int = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False

    def as_pyserial(self) -> PySerialOptions:
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": self.parity,
            "stopbits": self.stopbits,
            "xonxoff": self.xonxoff,
            "rtscts": self.rtscts,
        }


@dataclass(frozen=True)
class TrackSpec:
    """A track a device model produces: a metric and its nominal rate (samples per second)."""

    metric: str
    nominal_rate_hz: float


@dataclass(frozen=True)
class Keepalive:
    """Bytes a transport sends to keep a device streaming (some oximeters stop after a few seconds of silence)."""

    payload: bytes
    interval_s: float


class HostDriver(Protocol):
    """A device the host must drive (an NIBP module: start a measurement, poll the cuff, fetch the result).

    A descriptor offers a factory as ``host_driver``; the link calls :meth:`poll` every loop turn, even when
    nothing was read, writes what it returns, and passes every decoded item to :meth:`on_items`.
    """

    def poll(self, now_s: float) -> bytes: ...

    def on_items(self, items: Iterable[Item]) -> None: ...

    def drain_events(self) -> list[Item]: ...

    def request_now(self) -> None:
        """Measure at the next poll (the nurse's "Measure BP now"); safe to call from another thread."""
        ...


@dataclass(frozen=True)
class GattProfile:
    """Where a Bluetooth health profile's measurements arrive (full 128-bit UUIDs, as bleak wants them)."""

    service_uuid: str
    characteristic_uuid: str
    indicate: bool  # the characteristic indicates rather than notifies (bleak's start_notify handles both)
    streaming: bool  # notifications arrive continuously, so silence means the data is stale


@dataclass(frozen=True)
class DeviceDescriptor:
    """One device model or protocol, as data: adding a model is a descriptor plus a decoder."""

    protocol: str
    title: str
    link: Literal["serial", "ble", "network"]
    decoder: Callable[[], Decoder]
    tracks: tuple[TrackSpec, ...]
    serial: SerialSettings | None = None
    start_command: bytes | None = None
    keepalive: Keepalive | None = None
    simulator: Callable[[PatientModel], DeviceSimulator] | None = None
    notes: str = ""
    host_driver: Callable[[], HostDriver] | None = None  # a device that measures only when the host asks
    probe_query: bytes | None = None  # what a port probe sends for a reply without side effects (None: it streams)
    gatt: GattProfile | None = None  # a Bluetooth profile's service and characteristic
    model: str = ""  # the short name a chart or a log line gives the device; derived from the title when empty

    @property
    def model_name(self) -> str:
        """The device as a clinician names it beside a track ("Nonin oximeter", "SunTech Advantage")."""
        return self.model or self.title.split(" (")[0].split(",")[0].strip()
