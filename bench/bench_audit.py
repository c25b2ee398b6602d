"""`audit verify` over a clinic's year: 500 sessions (150 patients, two monitors each, a weight, a dose and a note,
ended), every row vouched for. Verify reads the whole trail and every vouched row; the header rows (patients,
sessions, devices, record headers) are a share of it.

Budget: < 2 s for the whole check on this machine (it runs before every export, to warn beside it).
"""

from __future__ import annotations

import tempfile
import time

from bench.harness import Figure, median
from kapmonitor.core.clock import now_us
from kapmonitor.session.entries import BodyWeight, BolusDose, Note
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.audit_key import audit_key
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import open_database
from kapmonitor.store.header_proof import check_headers
from kapmonitor.store.record_proof import verify_record
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

SESSIONS = 500
PATIENTS = 150


def _write(url: str) -> None:
    engine = open_database(url)
    repository = SessionRepository(engine)
    recorder = Recorder(engine)
    template = builtin_templates()["im-ketamine"]
    try:
        recorder.register_device("nonin-df7@/dev/ttyUSB0", "nonin-df7", "/dev/ttyUSB0")
        recorder.register_device("suntech-advantage@/dev/ttyUSB1", "suntech-advantage", "/dev/ttyUSB1")
        for i in range(SESSIONS):
            session = repository.start_session(f"P-{i % PATIENTS:04d}", "im-ketamine", nurse="nina", bed="chair 2")
            recorder.begin(session)
            recorder.flush(timeout=30)
            recorder.end()
            log = ClinicalLog(engine, session, template)
            t = now_us()
            log.add(BodyWeight(t_us=t, entered_us=t, author="nina", kg=70.0))
            log.add(BolusDose(t_us=t + 1, entered_us=t + 1, author="nina", mg=35.0, route="im"))
            log.add(Note(t_us=t + 2, entered_us=t + 2, author="nina", text="calm, eyes closed"))
            repository.end_session(session, user="nina")
    finally:
        recorder.stop()
        engine.dispose()


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/clinic.sqlite"
        _write(url)
        engine = open_database(url)
        try:
            whole, headers = [], []
            for _ in range(5):
                started = time.perf_counter()
                report = verify_record(engine)
                whole.append(time.perf_counter() - started)
                if not report.intact:
                    raise RuntimeError(f"the benchmark's own record does not verify: {report.lines()[:3]}")
                entries = AuditTrail(engine).entries()
                started = time.perf_counter()
                with engine.connect() as conn:
                    rows, _ = check_headers(conn, entries, audit_key(create=False))
                headers.append(time.perf_counter() - started)
        finally:
            engine.dispose()
    note = f"{SESSIONS} sessions: {report.chain.entries} audit entries, {report.rows} rows ({rows} header rows)"
    return [
        Figure("audit verify, a clinic's year (SQLite)", median(whole), "s", 2.0, note=note),
        Figure("of which patients, sessions, devices, record headers", median(headers), "s", None),
    ]
