"""PySide6 and pyqtgraph windows and widgets: the only package that imports Qt."""
