"""Links: the transports that own a device's I/O (serial, pseudo-terminal, simulated), stamping, probing and
inspection."""
