"""Fast rating entry from the scale files: pick the scale, type the digits, Enter records.

Single-item scales (MOAA/S, RASS) take one value; item scales (CADSS-6, full CADSS, the patient's 0-10)
show one field per item, Tab moves between them. Nothing is checked here: the scale's own messages say what
is wrong and the typed values stay for correction.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.scales import RatingError, RatingScale, builtin_scales
from kapmonitor.ui.clinical.context import ClinicalContext, refusal

# (scale, short form) choices in the order a KAP nurse uses them.
CHOICES: tuple[tuple[str, str], ...] = (
    ("moaas", ""),
    ("cadss", "cadss-6"),
    ("patient-vas", ""),
    ("rass", ""),
    ("cadss", ""),
)


def choice_title(scale: RatingScale, form: str) -> str:
    if form:
        return form.upper()
    return (
        f"{scale.short_title} (all {len(scale.items)} items)" if len(scale.items) > 6 else scale.short_title
    )


class RatingPanel(QWidget):
    entered = Signal()

    def __init__(self, ctx: ClinicalContext, scales: dict[str, RatingScale] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.scales = scales if scales is not None else builtin_scales()
        self.choices = [(s, f) for s, f in CHOICES if s in self.scales]
        self.picker = QComboBox()
        for name, form in self.choices:
            self.picker.addItem(choice_title(self.scales[name], form))
        self.picker.currentIndexChanged.connect(self._show_items)
        self.fields: dict[str, QLineEdit] = {}
        self.area = QScrollArea()
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.record_button = QPushButton("Record rating")
        self.record_button.clicked.connect(self.submit)
        self.message = QLabel("")
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.last = QLabel("")
        self.last.setObjectName("muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addWidget(self.area, 1)
        layout.addWidget(self.record_button)
        layout.addWidget(self.message)
        layout.addWidget(self.last)
        self._show_items()

    @property
    def scale(self) -> RatingScale:
        return self.scales[self.choices[self.picker.currentIndex()][0]]

    @property
    def form(self) -> str:
        return self.choices[self.picker.currentIndex()][1]

    def choose(self, scale: str, form: str = "") -> None:
        self.picker.setCurrentIndex(self.choices.index((scale, form)))

    def _show_items(self) -> None:
        scale, form = self.scale, self.form
        page = QWidget()
        page.setObjectName("clinicalPage")
        grid = QGridLayout(page)
        self.fields = {}
        by_key = {item.key: item for item in scale.items}
        for row, key in enumerate(scale.item_keys(form)):
            item = by_key[key]
            field = QLineEdit()
            field.setFixedWidth(70)
            field.setAlignment(Qt.AlignmentFlag.AlignCenter)
            field.setPlaceholderText(f"{item.low}-{item.high}")
            field.returnPressed.connect(self.submit)
            name = item.label if len(scale.items) > 1 else f"{scale.short_title} {item.low} to {item.high}"
            grid.addWidget(QLabel(f"{key}" if len(scale.items) > 1 else ""), row, 0)
            grid.addWidget(QLabel(name), row, 1)
            grid.addWidget(field, row, 2)
            self.fields[key] = field
        if scale.levels:
            for offset, value in enumerate(sorted(scale.levels, reverse=True), start=1):
                button = QPushButton(f"{value}   {scale.levels[value]}")
                button.setObjectName("level")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the typing in the value field
                button.clicked.connect(lambda _=False, v=value: self.record_value(v))
                grid.addWidget(button, offset, 1, 1, 2)
        grid.setRowStretch(grid.rowCount(), 1)
        self.area.setWidget(page)
        self.message.setText("")
        self.focus_first()

    def focus_first(self) -> None:
        next(iter(self.fields.values())).setFocus()

    def record_value(self, value: int) -> bool:
        """A single-item scale in one click on its level."""
        next(iter(self.fields.values())).setText(str(value))
        return self.submit()

    def submit(self) -> bool:
        values: dict[str, int] = {}
        typed_wrong = []
        for key, field in self.fields.items():
            text = field.text().strip()
            if not text:
                continue
            try:
                values[key] = int(text)
            except ValueError:
                typed_wrong.append(f"item {key}: {text!r} is not a whole number")
        if typed_wrong:
            return self._say("; ".join(typed_wrong))
        now = self.ctx.clock()
        try:
            rating = self.scale.rate(values, t_us=now, entered_us=now, author=self.ctx.author, form=self.form)
            self.ctx.record.add(rating)
        except RatingError as exc:
            return self._say("; ".join(exc.problems))
        except Exception as exc:  # refused, or the store failed: say why, keep the typing
            return self._say(refusal(exc))
        for field in self.fields.values():
            field.clear()
        self._say("")
        score = "" if rating.score is None else f" = {rating.score}"
        self.last.setText(f"Recorded {choice_title(self.scale, self.form)}{score}")
        self.focus_first()
        self.entered.emit()
        return True

    def _say(self, text: str) -> bool:
        self.message.setText(text)
        return False
