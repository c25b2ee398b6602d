"""Widgets several screens share: plots, traces, event lanes and tables."""
