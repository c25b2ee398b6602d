"""Device protocols: pure decoders, transports (serial, Bluetooth LE), simulators and the protocol registry."""
