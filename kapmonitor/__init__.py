"""kapmonitor: vital-sign monitoring and session recording for ketamine-assisted psychotherapy."""

__version__ = "0.1.0"
