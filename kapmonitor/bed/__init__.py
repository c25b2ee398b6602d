"""The wiring of one bed: devices, alarms, the clinical session and the store tied together; the demo and replay."""
