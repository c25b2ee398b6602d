"""The path every link shares between received bytes and published items: decode, then stamp.

Numerics and decode errors get the host arrival time; waveform chunks get their first sample's time from one
sample clock per metric, so serial or scheduling jitter never bends a waveform.
"""

from __future__ import annotations

from dataclasses import replace

from kapmonitor.core.clock import SampleClock
from kapmonitor.core.readings import Item, LinkEvent, WaveChunk
from kapmonitor.devices.base import Decoder, DeviceDescriptor, HostDriver, LinkStats
from kapmonitor.devices.registry import descriptor as registered


def resolve(protocol: str | DeviceDescriptor) -> DeviceDescriptor:
    """A descriptor from a protocol name (raises registry.UnknownProtocol) or the descriptor itself."""
    return protocol if isinstance(protocol, DeviceDescriptor) else registered(protocol)


class DecodePath:
    """One device's decoder, sample clocks and host driver. Used from one thread (the link's reader)."""

    def __init__(self, descriptor: DeviceDescriptor, device: str, driver: HostDriver | None = None) -> None:
        self.descriptor = descriptor
        self.device = device
        self.decoder: Decoder = descriptor.decoder()
        factory = descriptor.host_driver
        self.driver: HostDriver | None = driver or (factory() if factory is not None else None)
        self._earlier = LinkStats()  # counts from decoders replaced by reset()
        self._clocks: dict[str, SampleClock] = {}

    def commands(self, now_s: float) -> bytes:
        """What the host driver wants written to the device now (monotonic seconds); usually nothing."""
        return self.driver.poll(now_s) if self.driver is not None else b""

    def feed(self, data: bytes, arrival_us: int) -> list[Item]:
        items = self.decoder.feed(data) if data else []
        if self.driver is not None:
            self.driver.on_items(items)
            items += self.driver.drain_events()
        return [self._stamp(item, arrival_us) for item in items]

    def _stamp(self, item: Item, arrival_us: int) -> Item:
        if isinstance(item, WaveChunk):
            clock = self._clocks.get(item.metric)
            if clock is None or clock.rate_hz != item.rate_hz:
                clock = self._clocks[item.metric] = SampleClock(item.rate_hz)
            return item.stamped(clock.place(len(item.samples), arrival_us), self.device)
        if isinstance(item, LinkEvent):
            return replace(item, t_us=arrival_us, device=self.device)
        return item.stamped(arrival_us, self.device)

    def reset(self) -> None:
        """After a gap: drop any partial frame and re-anchor the waveforms, keeping the counters."""
        self._earlier = self.stats()
        self.decoder = self.descriptor.decoder()
        self._clocks.clear()

    def stats(self) -> LinkStats:
        now, before = self.decoder.stats.snapshot(), self._earlier
        return LinkStats(
            before.bytes_in + now.bytes_in,
            before.frames_ok + now.frames_ok,
            before.checksum_errors + now.checksum_errors,
            before.resyncs + now.resyncs,
            before.bytes_discarded + now.bytes_discarded,
        )
