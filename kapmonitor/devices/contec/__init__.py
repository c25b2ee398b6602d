"""Contec CMS50D+/E/EW/F finger oximeters and their OEM clones (protocols.md §8): two incompatible families.

* ``contec-v7`` (§8.2, firmware 4.6+): a type byte with bit 7 clear, a "high byte" holding bit 7 of each
  data byte, data bytes with bit 7 forced to 1. Streams 60 packets/s only after a start command, and only
  while the host says "connected" every few seconds.
* ``contec-legacy`` (§8.1, older firmware): 5-byte packets at 60/s, bit 7 set on the first byte only,
  sent unasked.

Neither has a checksum: the bit-7 pattern is the only integrity check. A packet carries one 60 Hz pleth
sample and the current numerics; numerics are emitted when they change and at least once a second, pleth
as WaveChunks.

Read ``stream`` (the sample both families carry and the bit-7 framing loop they share), then ``v7`` and
``legacy`` (each family's packets, decoder and encoder), ``simulators`` and ``descriptors`` (the registered
protocols ``contec-v7`` and ``contec-legacy``).
"""
