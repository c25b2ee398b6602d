"""Masimo Rad-8 / Radical-7 / Rad-87 "ASCII 1" serial output (protocols.md §7): one text line per second.

A line is ``MM/DD/YY HH:MM:SS`` followed by ``KEY=VALUE`` tokens whose order and presence vary by model and
firmware, so tokens are read by key. ALARM and EXC are hexadecimal bit fields.

Read ``decoder`` (lines in, readings out), then ``simulator`` (``encode_line`` and a Rad-8 for tests and the
demo) and ``descriptors`` (the registered protocol ``masimo-ascii``).
"""
