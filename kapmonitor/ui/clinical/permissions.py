"""The clinical panels the user's roles allow; the others are greyed out with a tooltip saying why."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kapmonitor.core.access import User
from kapmonitor.ui.clinical.dock import ClinicalDock
from kapmonitor.ui.widgets.refusal import refusal_tip


def panel_permissions(dock: ClinicalDock) -> tuple[tuple[QWidget, str, str], ...]:
    """Each clinical panel of the dock, the permission it needs, and what that lets someone do (for the
    tooltip)."""
    return (
        (dock.doses, "dose.enter", "enter doses"),
        (dock.ratings, "rating.enter", "enter ratings"),
        (dock.notes, "note.enter", "write notes and quick events"),
    )


def apply_permissions(dock: ClinicalDock, user: User | None) -> None:
    """Enable what ``user`` may do on the clinical dock; entries are written in their name. No user (a
    window without logins, as in tests of other parts) leaves everything enabled."""
    if user is None:
        return
    dock.ctx.author = user.username
    for panel, permission, what in panel_permissions(dock):
        allowed = user.may(permission)
        tip = "" if allowed else refusal_tip(user, permission, what)
        panel.setEnabled(allowed)
        panel.setToolTip(tip)
        dock.tabs.setTabToolTip(dock.tabs.indexOf(panel), tip)
    may_note = user.may("note.enter")
    for shortcut in dock.shortcuts:
        shortcut.setEnabled(may_note)
    dock.discharge_button.setEnabled(may_note)
    dock.discharge_button.setToolTip("" if may_note else refusal_tip(user, "note.enter", "record a discharge"))
