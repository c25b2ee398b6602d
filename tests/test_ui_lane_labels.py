"""The bedside's event lane (under the live trends) draws its labels beside their marks: never over another mark,
the infusion bar or another label, on a laptop's lane width and a desk's. The rate stands on the bar."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kapmonitor.session.entries import BodyWeight, BolusDose, InfusionEvent, Note, QuickEvent
from kapmonitor.session.scales import builtin_scales
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.theme import DARK
from kapmonitor.ui.widgets.event_lane import LANE_HEIGHT, EventLane

T0 = 1_763_760_000_000_000
MIN = 60_000_000
MARK_PX = 14
WIDTHS = (510, 900)  # the lane beside the record on a 1366x768 laptop, and on a 1920x1080 desk screen


def busy_record() -> SessionRecord:
    """Forty minutes of an IV session: the infusion with a rate change, boluses during it, MOAA/S every 5 min,
    notes and quick events close together."""
    record = SessionRecord.for_template(builtin_templates()["iv-infusion"])
    record.add(BodyWeight(t_us=T0, entered_us=T0, author="RN Lee", kg=70.0))

    def at(minute: float) -> dict[str, object]:
        t = T0 + round(minute * MIN)
        return {"t_us": t, "entered_us": t, "author": "RN Lee"}

    record.add(InfusionEvent(**at(5), action="start", rate=0.5, rate_unit="mg/kg/h", weight_kg=70.0))
    record.add(InfusionEvent(**at(20), action="rate", rate=0.75, rate_unit="mg/kg/h", weight_kg=70.0))
    record.add(BolusDose(**at(12), mg=4.0, route="iv"))
    record.add(BolusDose(**at(30), mg=2.0, route="iv", drug="midazolam"))
    moaas = builtin_scales()["moaas"]
    for minute, level in ((0, 5), (5, 5), (10, 4), (15, 4), (20, 3), (25, 4), (30, 4), (35, 5)):
        record.add(moaas.rate(level, **at(minute)))
    record.add(Note(**at(8), text="Music on"))
    record.add(QuickEvent(**at(9), code="nausea", label="Nausea"))
    record.add(QuickEvent(**at(33), code="eyeshades", label="Eyeshades on"))
    return record


@pytest.mark.parametrize("width", WIDTHS)
def test_no_lane_label_lies_over_a_mark_a_bar_or_another_label(qtbot: QtBot, tmp_path: Path, width: int) -> None:
    lane = EventLane(busy_record())
    qtbot.addWidget(lane)
    lane.resize(width, LANE_HEIGHT)
    lane.apply_theme(DARK)
    lane.show()
    qtbot.waitExposed(lane)
    lane.setXRange((T0 - MIN) / 1e6, (T0 + 40 * MIN) / 1e6, padding=0)
    QApplication.processEvents()
    lane.refresh(T0 + 40 * MIN)
    QApplication.processEvents()

    view = lane.getPlotItem().getViewBox()
    marks = []
    for spot in lane.scatter.points():
        centre = view.mapViewToScene(spot.pos())
        marks.append(QRectF(centre.x() - MARK_PX / 2, centre.y() - MARK_PX / 2, MARK_PX, MARK_PX))
    bars = lane.bar_item.opts
    for x0, x1, y0, h in zip(bars["x0"], bars["x1"], bars["y0"], bars["height"], strict=True):
        corners = view.mapViewToScene(QPointF(x0, y0)), view.mapViewToScene(QPointF(x1, y0 + h))
        marks.append(QRectF(*corners).normalized())
    labels = [(t.toPlainText(), t.sceneBoundingRect()) for t in lane.texts]
    assert lane.grab().save(str(tmp_path / f"lane-{width}.png"))
    assert any("mg/h" in text for text, _ in labels)  # the rate, on its bar
    assert any(text.startswith("MOAA/S") for text, _ in labels) or width == WIDTHS[0]  # 5 min apart: no room
    for text, rect in labels:
        assert [m for m in marks if rect.intersects(m)] == [], (text, rect)
        assert view.sceneBoundingRect().contains(rect), text  # whole, inside the lane
    assert [(a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1 :] if a[1].intersects(b[1])] == []
