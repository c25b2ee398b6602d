"""Discharge: the template's checklist with the nurse's confirmations, the ready time, and the Spravato REMS
monitoring form as far as the record fills it, with what is still missing before sign-off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.discharge import discharge_checklist, record_discharge
from kapmonitor.session.entries import Confirmation, Discharged
from kapmonitor.session.rems import RemsForm, rems_form
from kapmonitor.session.wording import discharge_words
from kapmonitor.ui.clinical.context import ClinicalContext, big_label, refusal
from kapmonitor.ui.screen_size import open_fitting
from kapmonitor.ui.widgets.tiles import clock_text


def yes_no(value: bool | None) -> str:
    return "not assessed" if value is None else ("yes" if value else "no")


def rems_rows(form: RemsForm) -> list[tuple[str, str]]:
    """The form's fields as (question, answer) rows, answers in words; blanks as a dash."""

    def when(t_us: int | None) -> str:
        return "\u2014" if t_us is None else clock_text(t_us)

    def bp(m: object) -> str:
        return "\u2014" if m is None else f"{m} mmHg at {clock_text(m.t_us)}"  # type: ignore[attr-defined]

    return [
        ("Dose", f"{form.dose_mg:g} mg ({form.dose_choice}), {form.devices} device(s)"),
        ("Lot(s)", ", ".join(form.lots) or "\u2014"),
        ("First spray", when(form.first_spray_us)),
        ("Monitored", "\u2014" if form.monitoring_minutes is None else f"{form.monitoring_minutes} min"),
        ("BP pre-dose", bp(form.bp_pre_dose)),
        ("BP at ~40 min", bp(form.bp_40_min)),
        ("BP at discharge", bp(form.bp_discharge)),
        ("Sedation", yes_no(form.sedation)),
        ("Dissociation", yes_no(form.dissociation)),
        ("Respiratory depression", yes_no(form.respiratory_depression)),
        ("BP increase", yes_no(form.bp_increase)),
        ("Ready to leave (without the 2 h rule)", when(form.ready_to_leave_us)),
    ]


class DischargeDialog(QDialog):
    entered = Signal()

    def __init__(self, ctx: ClinicalContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"Discharge \u2014 {ctx.template.title}")
        open_fitting(self, (760, 820))  # as large as this, never larger than the screen
        self.confirm_buttons: dict[str, QPushButton] = {}
        self.rems: RemsForm | None = None
        self.page: QWidget | None = None  # the checklist and form as last drawn; refresh replaces it whole
        self.body = QVBoxLayout()
        self.holder = QVBoxLayout()
        self.message = QLabel("")
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason to discharge with items still open (who decides: you, logged in)")
        self.discharge_button = QPushButton("Record discharge")
        self.discharge_button.clicked.connect(self.record_discharge)
        self.rems_button = QPushButton("REMS form PDF…")
        self.rems_button.clicked.connect(lambda: self.write_rems())
        self.rems_button.setVisible(ctx.template.dosing.form == "intranasal" and ctx.rems_pdf is not None)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reason, 1)
        buttons.addWidget(self.discharge_button)
        buttons.addWidget(self.rems_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(self.holder, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        # The old page goes whole, grids and all: emptying only the top layout left the grids' labels drawn
        # under the new ones (a confirmation made the checklist unreadable).
        if self.page is not None:
            self.page.hide()
            self.page.deleteLater()
        self.page = QWidget()
        self.body = QVBoxLayout(self.page)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.holder.addWidget(self.page)
        now = self.ctx.clock()
        readings = self.ctx.readings()
        status = discharge_checklist(self.ctx.template, self.ctx.record, readings, now)
        self.status = status
        self.body.addWidget(big_label("Discharge checklist", px=22))
        grid = QGridLayout()
        self.confirm_buttons = {}
        for row, item in enumerate(status.items):
            mark = QLabel("\u2713" if item.met else "\u25cb")
            mark.setObjectName("ok" if item.met else "warning")
            detail = QLabel(item.detail)
            detail.setObjectName("muted")
            grid.addWidget(mark, row, 0)
            grid.addWidget(QLabel(item.criterion.label), row, 1)
            grid.addWidget(detail, row, 2)
            if item.criterion.kind == "confirm" and not item.met:
                button = QPushButton("Confirm")
                button.clicked.connect(lambda _=False, k=item.criterion.key: self.confirm(k))
                self.confirm_buttons[item.criterion.key] = button
                grid.addWidget(button, row, 3)
        grid.setColumnStretch(2, 1)  # the detail takes the spare width; the mark stays beside its criterion
        self.body.addLayout(grid)
        ready = status.ready_us
        self.ready_label = big_label(
            f"Ready since {clock_text(ready)}"
            if ready is not None
            else f"Not ready: {len(status.outstanding)} open",
            px=20,
        )
        self.ready_label.setObjectName("ok" if ready is not None else "warning")
        self.body.addWidget(self.ready_label)
        discharged = self.ctx.record.current_of(Discharged)
        if discharged:
            last = discharged[-1]
            self.done_label = QLabel(f"{clock_text(last.t_us)} {discharge_words(last)} (by {last.author})")
            self.done_label.setWordWrap(True)
            self.body.addWidget(self.done_label)
        if self.ctx.template.dosing.form == "intranasal":
            self._show_rems(readings)
        self.body.addStretch(1)
        done = self.ctx.record.discharged_us() is not None
        self.discharge_button.setEnabled(not done)
        self.reason.setVisible(not done and not status.ready)

    def _show_rems(self, readings: list) -> None:
        self.rems = rems_form(self.ctx.record, readings, template=self.ctx.template, spo2_readings=readings)
        self.body.addSpacing(12)
        self.body.addWidget(big_label("Spravato REMS monitoring form", px=22))
        grid = QGridLayout()
        for row, (question, answer) in enumerate(rems_rows(self.rems)):
            name = QLabel(question)
            name.setObjectName("muted")
            grid.addWidget(name, row, 0)
            grid.addWidget(QLabel(answer), row, 1)
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)
        missing = QLabel(
            "Missing before sign-off: " + "; ".join(self.rems.missing)
            if self.rems.missing
            else "Form complete"
        )
        missing.setWordWrap(True)
        missing.setObjectName("warning" if self.rems.missing else "ok")
        self.missing_label = missing
        self.body.addWidget(missing)

    def confirm(self, key: str) -> None:
        now = self.ctx.clock()
        self._add(Confirmation(t_us=now, entered_us=now, author=self.ctx.author, item=key))

    def record_discharge(self) -> bool:
        """Record the discharge: at once with the checklist complete; with items open only with a reason, by
        someone the clinic lets override (the entry keeps who, why and the open items)."""
        now = self.ctx.clock()
        status = discharge_checklist(self.ctx.template, self.ctx.record, self.ctx.readings(), now)
        if not status.ready and not self.reason.text().strip():
            self.refresh()
            self.message.setText(
                f"Not ready: {len(status.outstanding)} open ({'; '.join(status.outstanding)}). "
                "Type the reason to discharge anyway, or complete the checklist."
            )
            self.reason.setFocus()
            return False
        who, why = self.ctx.acting_user(), self.reason.text()
        return self._add(
            lambda: record_discharge(self.ctx.record, status, user=who, t_us=now, entered_us=now, reason=why)
        )

    def write_rems(self, path: Path | None = None) -> list[Path]:
        """This session's REMS form as a one-page PDF (asks where unless ``path`` is given)."""
        if self.ctx.rems_pdf is None:
            return []
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "REMS monitoring form", "rems-form.pdf", "PDF (*.pdf)")
            if not chosen:
                return []
            path = Path(chosen)
        try:
            written = self.ctx.rems_pdf(path)
        except Exception as exc:  # an unwritable path, a store failure: one line
            self.message.setText(refusal(exc))
            return []
        self.message.setText("Written: " + ", ".join(str(p) for p in written))
        return written

    def _add(self, entry: Confirmation | Callable[[], object]) -> bool:
        try:
            if isinstance(entry, Confirmation):
                self.ctx.record.add(entry)
            else:
                entry()
        except Exception as exc:  # refused, or the store failed: say why, keep the typing
            self.message.setText(refusal(exc))
            return False
        self.message.setText("")
        self.reason.clear()
        self.refresh()
        self.entered.emit()
        return True
