"""Exports of a recorded session: CSV, PDF, EDF+, FHIR."""
