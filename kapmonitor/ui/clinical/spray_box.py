"""Intranasal devices: the lot of each device, the devices given, and the rest countdown between them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QPushButton, QWidget

from kapmonitor.session.dosing import ESKETAMINE_MAX_MG
from kapmonitor.session.entries import Dose, IntranasalDevice
from kapmonitor.session.prompts import rest_timer
from kapmonitor.ui.clinical.context import ClinicalContext, big_label, minutes_text
from kapmonitor.ui.widgets.tiles import clock_text


class SprayBox(QWidget):
    def __init__(self, ctx: ClinicalContext, give: Callable[[Dose], bool]) -> None:
        super().__init__()
        self.ctx = ctx
        self.give = give
        self.lot = QLineEdit(placeholderText="lot number on this device")
        self.lot.returnPressed.connect(self.device_given)
        self.button = QPushButton("")
        self.button.clicked.connect(self.device_given)
        self.countdown = big_label(px=24)
        self.given = QLabel("")
        self.given.setObjectName("muted")
        self.problem = QLabel("")
        self.problem.setObjectName("warning")
        self.beyond = QLabel("")  # a device past the prescription (or the default): said before it is given
        self.beyond.setObjectName("warning")
        self.beyond.setWordWrap(True)  # a long sentence wraps rather than widen the record
        self.beyond.setVisible(False)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Lot"), 0, 0)
        grid.addWidget(self.lot, 0, 1)
        grid.addWidget(self.button, 0, 2)
        grid.addWidget(self.countdown, 1, 0, 1, 3)
        grid.addWidget(self.given, 2, 0, 1, 3)
        grid.addWidget(self.beyond, 3, 0, 1, 3)
        grid.addWidget(self.problem, 4, 0, 1, 3)

    def device_given(self) -> None:
        lot = self.lot.text().strip()
        if not lot:
            self.problem.setText("Type the lot number printed on this device first.")
            self.lot.setFocus()
            return
        now = self.ctx.clock()
        timer = rest_timer(self.ctx.template, self.ctx.record.sprays(), now)
        if timer is not None and timer.resting:
            self.problem.setText(f"Rest between devices: {minutes_text(timer.remaining_us)} to go.")
            return
        device = IntranasalDevice(
            t_us=now,
            entered_us=now,
            author=self.ctx.author,
            lot=lot,
            mg=self.ctx.template.dosing.device_mg or 28.0,
            drug=self.ctx.template.dosing.drug,
        )
        if self.give(device):
            self.lot.clear()
            self.problem.setText("")

    def refresh(self) -> None:
        now = self.ctx.clock()
        sprays = self.ctx.record.sprays()
        mg = self.ctx.template.dosing.device_mg or 28.0
        given = sum(s.mg for s in sprays)
        at_label_max = self.ctx.template.dosing.drug == "esketamine" and given + mg > ESKETAMINE_MAX_MG + 1e-9
        # Past the prescription (or, with none recorded, esketamine's default 56 mg): a warning line says so before
        # the click, and the record holds the device for an override with who and why.
        prescription = self.ctx.record.checked_prescription
        past = prescription is not None and prescription.devices is not None and len(sprays) >= prescription.devices
        if not past or prescription is None or not prescription.mg:
            self.beyond.setText("")
        elif self.ctx.record.prescription is not None:
            self.beyond.setText(
                f"Device {len(sprays) + 1} is past the {prescription.mg:g} mg prescribed: giving it asks for an "
                "override with the reason."
            )
        else:
            self.beyond.setText(
                f"No prescription recorded: device {len(sprays) + 1} is past the protocol's default of "
                f"{prescription.mg:g} mg. Record the prescription, or giving it asks for an override with the reason."
            )
        self.beyond.setVisible(bool(self.beyond.text()))
        self.button.setText(f"Device {len(sprays) + 1} given ({mg:g} mg)")
        timer = rest_timer(self.ctx.template, sprays, now)
        if timer is None:
            self.countdown.setText("No device given yet")
        elif timer.resting:
            self.countdown.setText(f"Rest {minutes_text(timer.remaining_us)} before device {len(sprays) + 1}")
        else:
            ago = round((now - max(s.t_us for s in sprays)) / 60_000_000)
            self.countdown.setText(f"Rest over (last device {ago} min ago)")
        self.countdown.setObjectName("warning" if timer is not None and timer.resting else "ok")
        self.countdown.style().polish(self.countdown)
        self.button.setEnabled((timer is None or not timer.resting) and not at_label_max)
        self.button.setVisible(not at_label_max)  # no 4th device: 84 mg is the label's maximum
        self.lot.setVisible(not at_label_max)
        if at_label_max:
            self.countdown.setText(f"{given:g} mg given: the label's maximum; no further device")
        self.given.setText(
            "   ".join(f"#{i} {clock_text(s.t_us)} lot {s.lot}" for i, s in enumerate(sprays, start=1))
        )
