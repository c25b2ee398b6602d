"""Exports of a recorded session: CSV, PDF, EDF+, FHIR.

Where to start reading: ``loader.load_session`` reads a session into a frozen ``SessionData``; every writer
(``csv_export.write_csv``, ``pdf_report.write_pdf``, ``edf_export.write_edf``, ``fhir_export.write_fhir``) takes
it and an output path and returns the paths written; ``command.run`` is ``kapmonitor sessions export``.
``events`` words the clinical record and the alarm log once for all of them; ``resample`` puts numerics on a
1-Hz grid without bridging gaps of 10 s or more.
"""
