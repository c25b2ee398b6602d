"""Dose entry for the session's protocol: boluses, the infusion pump, intranasal devices; the running totals.

What was given is always on top, one line per drug (mg, and mg/kg with a weight), worked out as the exports
and ``sessions show --json`` work it (``drug_totals``: the infusion from its rate segments) and recomputed on
every ``refresh`` so it climbs while an infusion runs; different drugs are never added together. Under it the
session's prescription (the protocol's default until one is recorded). A dose
that would pass the cap or the prescription is held until the nurse records why it is given. A pump rate in
mL/h is converted only with a concentration the nurse typed (never an assumed one).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.dosing import (
    RATE_UNITS,
    DosingError,
    DrugTotal,
    MaxDoseCheck,
    convert_rate,
    drug_totals,
    pump_state,
)
from kapmonitor.session.entries import US_PER_MIN, BolusDose, Dose, DoseOverride, InfusionEvent
from kapmonitor.session.templates import default_prescription
from kapmonitor.session.timeline import MaxDoseExceeded
from kapmonitor.session.wording import prescription_words
from kapmonitor.ui.clinical.context import ClinicalContext, big_label, refusal
from kapmonitor.ui.clinical.spray_box import SprayBox

# Which pump buttons make sense in each infusion state (the record refuses the rest anyway).
PUMP_ACTIONS = {
    "idle": ("start",),
    "stopped": ("start",),
    "running": ("rate", "pause", "stop"),
    "paused": ("rate", "resume", "stop"),
}
PUMP_LABELS = {"start": "Start", "rate": "Change rate", "pause": "Pause", "resume": "Resume", "stop": "Stop"}


TOTAL_PX = 24  # the totals: one line per drug, read from the chair, and "Esketamine 84.0 mg · 1.24 mg/kg"
# still inside the dose page's width on a laptop (the dock's style sheet says the same: QLabel#doseTotals)


def total_line(total: DrugTotal) -> str:
    """One drug's total in the clinic's words: "Ketamine 35.0 mg · 0.50 mg/kg" (no mg/kg without a weight)."""
    per_kg = "" if total.total_mg_per_kg is None else f"  \u00b7  {total.total_mg_per_kg:.2f} mg/kg"
    return f"{total.drug[:1].upper()}{total.drug[1:]} {total.total_mg:.1f} mg{per_kg}"


def totals_text(totals: list[DrugTotal], protocol_drug: str, weight_kg: float | None) -> str:
    """Every drug given, one line each; the protocol's drug first, at 0 mg before its first dose."""
    if not any(t.drug == protocol_drug for t in totals):
        totals = [DrugTotal(protocol_drug, 0.0, 0.0 if weight_kg else None, ()), *totals]
    totals = sorted(totals, key=lambda t: t.drug != protocol_drug)  # stable: the others in order of first use
    return "\n".join(total_line(t) for t in totals)


class DosePanel(QWidget):
    entered = Signal()

    def __init__(self, ctx: ClinicalContext) -> None:
        super().__init__()
        self.ctx = ctx
        dosing = ctx.template.dosing
        self.given_heading = QLabel("Given this session")
        self.given_heading.setObjectName("muted")
        self.total_label = big_label(px=TOTAL_PX)
        self.total_label.setObjectName("doseTotals")  # the dock's style keeps it this large
        self.total_label.setWordWrap(True)  # a long drug name wraps rather than widen the record
        self.limit_label = QLabel("")
        self.limit_label.setObjectName("muted")
        self.prescription_label = QLabel("")
        self.prescription_label.setWordWrap(True)
        self.prescribe_choice = QComboBox()
        self.prescribe_button = QPushButton("Prescribe")
        self.prescribe_button.clicked.connect(self.prescribe)
        self.message = QLabel("")
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self._pending: tuple[Dose, int | None] | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.given_heading)
        layout.addWidget(self.total_label)
        layout.addWidget(self.limit_label)
        layout.addWidget(self.prescription_label)
        prescribing = QHBoxLayout()
        prescribing.addWidget(self.prescribe_choice)
        prescribing.addWidget(self.prescribe_button)
        prescribing.addStretch(1)
        layout.addLayout(prescribing)
        self._fill_prescription_choices()
        self.spray_box: SprayBox | None = None
        if dosing.form == "intranasal":
            self.spray_box = SprayBox(ctx, self._give)
            layout.addWidget(self.spray_box)
        else:
            layout.addLayout(self._bolus_row())
        if dosing.form == "infusion":
            layout.addLayout(self._pump_rows())
        layout.addWidget(self.message)
        layout.addWidget(self._override_row())
        layout.addStretch(1)
        self.refresh()

    # ---- building -----------------------------------------------------------------------------

    def _bolus_row(self) -> QGridLayout:
        dosing = self.ctx.template.dosing
        self.bolus_amount = QDoubleSpinBox(decimals=2, maximum=2000.0, singleStep=0.05)
        self.bolus_unit = QComboBox()
        self.bolus_unit.addItems(["mg/kg", "mg"] if self.ctx.template.dosing.needs_weight else ["mg"])
        if dosing.default_mg_per_kg is not None and self.ctx.template.dosing.form != "infusion":
            self.bolus_amount.setValue(dosing.default_mg_per_kg)
        elif dosing.default_mg is not None:
            self.bolus_unit.setCurrentText("mg")
            self.bolus_amount.setValue(dosing.default_mg)
        self.bolus_equals = QLabel("")
        self.bolus_site = QLineEdit(placeholderText="site, e.g. left deltoid")
        self.bolus_site.setVisible(dosing.route == "im")
        self.bolus_button = QPushButton("Give bolus")
        self.bolus_button.clicked.connect(self.give_bolus)
        for signal in (self.bolus_amount.valueChanged, self.bolus_unit.currentTextChanged):
            signal.connect(self._show_bolus_equals)
        grid = QGridLayout()
        grid.addWidget(QLabel("Bolus"), 0, 0)
        grid.addWidget(self.bolus_amount, 0, 1)
        grid.addWidget(self.bolus_unit, 0, 2)
        grid.addWidget(self.bolus_button, 0, 3)
        grid.addWidget(self.bolus_equals, 1, 1, 1, 3)
        grid.addWidget(self.bolus_site, 2, 1, 1, 3)
        return grid

    def _pump_rows(self) -> QGridLayout:
        dosing = self.ctx.template.dosing
        self.rate = QDoubleSpinBox(decimals=2, maximum=5000.0, singleStep=0.05)
        self.rate_unit = QComboBox()
        self.rate_unit.addItems(list(RATE_UNITS))
        if dosing.default_mg_per_kg and dosing.infusion_minutes:
            self.rate.setValue(dosing.default_mg_per_kg / (dosing.infusion_minutes / 60))
        self.rate_equals = QLabel("")
        self.rate_equals.setWordWrap(True)
        self.concentration = QDoubleSpinBox(decimals=2, maximum=100.0, singleStep=0.5)
        self.concentration.setSpecialValueText("not entered")  # 0: no concentration typed, so no mL/h
        self.concentration.setSuffix(" mg/mL")
        self.concentration.setToolTip("The bag's concentration as prepared (e.g. 50 mg in 50 mL = 1 mg/mL)")
        for signal in (self.rate.valueChanged, self.rate_unit.currentTextChanged, self.concentration.valueChanged):
            signal.connect(self._show_rate_equals)
        self.pump_buttons: dict[str, QPushButton] = {}
        buttons = QHBoxLayout()
        for action, text in PUMP_LABELS.items():
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, a=action: self.pump(a))
            self.pump_buttons[action] = button
            buttons.addWidget(button)
        self.pump_state = QLabel("")
        grid = QGridLayout()
        grid.addWidget(QLabel("Infusion"), 0, 0)
        grid.addWidget(self.rate, 0, 1)
        grid.addWidget(self.rate_unit, 0, 2)
        grid.addWidget(self.pump_state, 0, 3)
        grid.addWidget(self.rate_equals, 1, 1, 1, 3)
        grid.addWidget(QLabel("Bag"), 2, 0)
        grid.addWidget(self.concentration, 2, 1, 1, 2)
        grid.addLayout(buttons, 3, 0, 1, 4)
        return grid

    def _fill_prescription_choices(self) -> None:
        dosing = self.ctx.template.dosing
        self.prescribe_choice.clear()
        if dosing.form == "intranasal" and dosing.device_mg:
            for devices in (2, 3):  # the label: 56 or 84 mg, as 2 or 3 devices of 28 mg
                self.prescribe_choice.addItem(f"{dosing.device_mg * devices:g} mg ({devices} devices)", devices)
            if dosing.default_mg:
                self.prescribe_choice.setCurrentIndex(0 if dosing.default_mg <= 2 * dosing.device_mg else 1)
        else:
            self.prescribe_choice.addItem("protocol default", 0)
            self.prescribe_choice.setVisible(False)

    def prescribe(self) -> bool:
        """Record the session's prescription: the chosen esketamine dose, or the protocol's default."""
        now = self.ctx.clock()
        dosing = self.ctx.template.dosing
        prescription = default_prescription(self.ctx.template, t_us=now, author=self.ctx.author)
        devices = self.prescribe_choice.currentData()
        if prescription is None:
            return self._say("This protocol has no default dose to prescribe.")
        if dosing.form == "intranasal" and devices and dosing.device_mg:
            prescription = dataclasses.replace(prescription, mg=dosing.device_mg * devices, devices=devices)
        try:
            self.ctx.record.add(prescription)
        except Exception as exc:  # refused, or the store failed
            return self._say(refusal(exc))
        self._say("")
        self.refresh()
        self.entered.emit()
        return True

    def _override_row(self) -> QWidget:
        self.override_box = QWidget()
        row = QHBoxLayout(self.override_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.override_reason = QLineEdit(placeholderText="why this dose is given above the maximum")
        self.override_reason.returnPressed.connect(self.confirm_override)
        self.override_button = QPushButton("Give with override")
        self.override_button.clicked.connect(self.confirm_override)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.cancel_override)
        row.addWidget(self.override_reason, 1)
        row.addWidget(self.override_button)
        row.addWidget(cancel)
        self.override_box.setVisible(False)
        return self.override_box

    # ---- what the nurse does -------------------------------------------------------------------

    def give_bolus(self) -> None:
        now = self.ctx.clock()
        amount, unit = self.bolus_amount.value(), self.bolus_unit.currentText()
        weight = self.ctx.record.weight_kg
        if unit == "mg/kg" and not weight:
            self._say("Record the patient's weight first: a dose per kg needs it.")
            return
        mg = amount * weight if unit == "mg/kg" and weight else amount
        dose = BolusDose(
            t_us=now,
            entered_us=now,
            author=self.ctx.author,
            mg=mg,
            route=self.ctx.template.dosing.route,
            drug=self.ctx.template.dosing.drug,
            site=self.bolus_site.text().strip(),
            mg_per_kg=amount if unit == "mg/kg" else None,
        )
        self._give(dose)

    def pump(self, action: str) -> None:
        now = self.ctx.clock()
        with_rate = action in ("start", "rate")
        dose = InfusionEvent(
            t_us=now,
            entered_us=now,
            author=self.ctx.author,
            action=action,
            rate=self.rate.value() if with_rate else None,
            rate_unit=self.rate_unit.currentText(),
            weight_kg=self.ctx.record.weight_kg,
            concentration_mg_per_ml=self.concentration_entered(),
            drug=self.ctx.template.dosing.drug,
        )
        self._give(dose, self._planned_stop(now) if action in ("start", "rate", "resume") else None)

    def concentration_entered(self) -> float | None:
        value = self.concentration.value()
        return value if value > 0 else None

    def _planned_stop(self, now: int) -> int | None:
        """Check an infusion against the maximum at the end of its planned duration."""
        minutes = self.ctx.template.dosing.infusion_minutes
        starts = [e.t_us for e in self.ctx.record.current_of(InfusionEvent) if e.action == "start"]
        if minutes is None:
            return None
        return max(now, min(starts, default=now) + round(minutes * US_PER_MIN))

    def _give(self, dose: Dose, until_us: int | None = None) -> bool:
        record = self.ctx.record
        if record.weight_kg:  # without one the record refuses the dose in its own words
            try:
                warning = record.max_dose_warning(dose, until_us)  # the record's rule: a pump stop is never held
            except DosingError as exc:
                return self._say(str(exc))
            if warning is not None:
                self._pending = (dose, until_us)
                self._say(warning.message.replace("; an override", ". To give it anyway an override"))
                self.override_box.setVisible(True)
                self.override_reason.setFocus()
                return False
        return self._add(dose, None, until_us)

    def confirm_override(self) -> None:
        if self._pending is None:
            return
        reason = self.override_reason.text().strip()
        if not reason:
            self._say("Write why the dose is given above the maximum before giving it.")
            return
        dose, until_us = self._pending
        record = self.ctx.record
        now = self.ctx.clock()
        prescription = record.checked_prescription  # the recorded one, else esketamine's default devices
        if not isinstance(dose, InfusionEvent) and prescription is not None and prescription.mg is not None:
            given = sum(d.mg for d in record.doses() if not isinstance(d, InfusionEvent) and d.drug == dose.drug)
            override = DoseOverride(
                t_us=dose.t_us,
                entered_us=now,
                author=self.ctx.author,
                reason=reason,
                limit_mg=prescription.mg,
                projected_mg=given + dose.mg,
            )
        else:
            cap = record.cap_mg_per_kg or 0.0
            warning = MaxDoseCheck(cap, record.weight_kg or 1.0).projected(record.doses(), dose, until_us)
            override = DoseOverride(
                t_us=dose.t_us,
                entered_us=now,
                author=self.ctx.author,
                reason=reason,
                limit_mg_per_kg=cap,
                projected_mg_per_kg=warning.projected_mg_per_kg if warning else 0.0,
            )
        if self._add(dose, override, until_us):
            self.cancel_override(keep_message=False)

    def cancel_override(self, keep_message: bool = False) -> None:
        self._pending = None
        self.override_reason.clear()
        self.override_box.setVisible(False)
        if not keep_message:
            self._say("")

    def _add(self, dose: Dose, override: DoseOverride | None, until_us: int | None) -> bool:
        try:
            self.ctx.record.add(dose, override=override, until_us=until_us)
        except MaxDoseExceeded as exc:  # past the prescription: held until someone says why
            if override is None and "prescription" in str(exc):
                self._pending = (dose, until_us)
                self._say(str(exc).replace("; an override", ". To give it anyway an override"))
                self.override_box.setVisible(True)
                self.override_reason.setFocus()
                return False
            return self._say(refusal(exc))
        except Exception as exc:  # refused, or the store failed: say why, keep the typing
            return self._say(refusal(exc))
        self._say("")
        self.refresh()
        self.entered.emit()
        return True

    def _say(self, text: str) -> bool:
        self.message.setText(text)
        return False

    # ---- showing -------------------------------------------------------------------------------

    def refresh(self) -> None:
        now = self.ctx.clock()
        record = self.ctx.record
        try:
            totals = drug_totals(record.doses(), now, record.weight_kg)
        except DosingError as exc:
            self.total_label.setText(f"Total not computable: {exc}")
        else:
            self.total_label.setText(totals_text(totals, self.ctx.template.dosing.drug, record.weight_kg))
        limit = record.cap_mg_per_kg
        weight = f"weight {record.weight_kg:g} kg" if record.weight_kg else "no weight recorded"
        cap_name = "prescribed cap" if record.prescription and record.prescription.max_mg_per_kg else "clinic maximum"
        self.limit_label.setText(weight + (f"  \u00b7  {cap_name} {limit:g} mg/kg" if limit else ""))
        self._show_prescription()
        if hasattr(self, "bolus_equals"):
            self._show_bolus_equals()
        if hasattr(self, "rate_equals"):
            self._show_rate_equals()
            state = pump_state(record.current_of(InfusionEvent))
            self.pump_state.setText(state if state != "idle" else "not started")
            for action, button in self.pump_buttons.items():
                button.setEnabled(action in PUMP_ACTIONS[state])
        if self.spray_box is not None:
            self.spray_box.refresh()

    def _show_prescription(self) -> None:
        prescription = self.ctx.record.prescription
        if prescription is not None:
            self.prescription_label.setText(prescription_words(prescription).replace("prescription:", "Prescribed:"))
            self.prescription_label.setObjectName("")
        else:
            default = default_prescription(self.ctx.template, t_us=0, author="")
            hint = prescription_words(default).replace("prescription: ", "") if default else "none"
            self.prescription_label.setText(f"No prescription recorded (protocol default: {hint})")
            self.prescription_label.setObjectName("warning")
        self.prescription_label.style().polish(self.prescription_label)
        given_any = bool(self.ctx.record.doses())
        self.prescribe_button.setVisible(prescription is None or not given_any)
        self.prescribe_choice.setEnabled(prescription is None or not given_any)

    def _show_bolus_equals(self) -> None:
        amount, weight = self.bolus_amount.value(), self.ctx.record.weight_kg
        if self.bolus_unit.currentText() == "mg/kg":
            text = f"= {amount * weight:.1f} mg" if weight else "needs the weight"
        else:
            text = f"= {amount / weight:.2f} mg/kg" if weight else ""
        self.bolus_equals.setText(text)

    def _show_rate_equals(self) -> None:
        parts = []
        for unit in RATE_UNITS:
            try:
                value = convert_rate(
                    self.rate.value(),
                    self.rate_unit.currentText(),
                    unit,
                    weight_kg=self.ctx.record.weight_kg,
                    concentration_mg_per_ml=self.concentration_entered(),
                )
            except DosingError:
                if unit == "mL/h" or self.rate_unit.currentText() == "mL/h":
                    parts.append("mL/h: enter the bag")
                else:
                    parts.append(f"? {unit}")
                continue
            parts.append(f"{value:.2f} {unit}")
        self.rate_equals.setText("  =  ".join(parts))
