"""The read-only table a person picks one row from (ports, Bluetooth devices, sessions, users)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget


def pick_table(headers: Sequence[str], *, fit_columns: int = 0) -> QTableWidget:
    """Whole rows selected one at a time, no editing, no row numbers; the first ``fit_columns`` columns sized to
    their contents and the rest sharing the width."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    for column in range(len(headers)):
        fit = column < fit_columns
        header.setSectionResizeMode(
            column, QHeaderView.ResizeMode.ResizeToContents if fit else QHeaderView.ResizeMode.Stretch
        )
    return table
