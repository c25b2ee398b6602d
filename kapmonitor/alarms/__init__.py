"""The alarm engine: limits, priorities, delays, latching and technical alarms. No Qt."""
