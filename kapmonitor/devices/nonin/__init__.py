"""Nonin pulse oximeters: data formats #2, #7, #8 and #13, their framing, decoders, encoders and simulator."""
