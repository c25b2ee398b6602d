"""Simulated patients and devices: the physiological model, scenario files and the simulator interface."""
