"""SunTech Advantage OEM NIBP module (protocols.md §11): a cuff that measures only when the host asks.

Host to module: ``':' cmd ... cs``; module to host: ``'>' LEN data ... cs`` with LEN the whole frame's length.
``cs`` makes the sum of every byte of a frame 0 modulo 256; fields are little-endian. The module never
speaks unasked except to say a measurement finished, so the host runs :class:`SuntechDriver`: it starts
measurements on the nurse's interval or on demand, polls the cuff pressure while the cuff inflates and
deflates, then reads the result.

Read in this order: ``frames`` (the wire format both sides speak: commands, replies, the BP result, error
codes), ``decoder`` (module replies in, readings and link events out), ``driver`` (the host side: when to
measure, what to poll), ``simulator`` (a module for tests and the demo), ``descriptors`` (the registered
protocol ``suntech-advantage``).
"""
