"""Signing a session's record and recording a discharge: the two acts that need more than a nurse's login.

``sign_session`` is the only way a record is signed. It takes the name and password of the person signing (the
password typed again, checked like a login), requires the ``session.sign`` permission (clinicians, or a role the
clinic grants it) and an ended session, and stores the sign-off under that person's name; nobody below the UI
can sign for someone else or as a nurse. A refusal is audited and said in one sentence.

(A discharge with checklist items open is :func:`kapmonitor.session.discharge.record_discharge`.)
"""

from __future__ import annotations

from sqlalchemy import Engine

from kapmonitor.core.access import require
from kapmonitor.core.errors import UserError
from kapmonitor.session.entries import SignOff
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.clinical_log import ClinicalLog, session_status
from kapmonitor.store.users import UserDirectory


class SignOffRefused(UserError):
    """A sign-off that was not stored, and why."""


def sign_session(
    engine: Engine,
    session_id: int,
    *,
    username: str,
    password: str,
    entered_us: int,
    users: UserDirectory | None = None,
) -> SignOff:
    """Sign session ``session_id`` as ``username``, whose ``password`` is checked again here."""
    audit = users.audit if users is not None else AuditTrail(engine)
    users = users or UserDirectory(engine, audit=audit)
    subject = f"session {session_id}"
    user = users.confirm_password(username, password)  # a wrong one counts towards the account's lock
    try:
        require(user, "session.sign")
        status = session_status(engine, session_id)
        if status in ("in_progress", "planned"):
            raise SignOffRefused(
                f"session {session_id} is still {status.replace('_', ' ')}: it can be signed once it has ended"
            )
        log = ClinicalLog(engine, session_id, audit=audit)
        if log.signed is not None:
            raise SignOffRefused(f"session {session_id} is already signed by {log.signed.author}")
        entry = SignOff(t_us=entered_us, entered_us=entered_us, author=user.username)
        log.sign_as(entry)
    except UserError as error:
        audit.append(user.username, "session.sign_refused", subject, {"reason": str(error)})
        raise
    return entry
