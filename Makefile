# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench lint screenshots system-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "kapmonitor needs Python 3.11 or newer (found: $$($(PYTHON) --version 2>&1))."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kapmonitor --demo

# The X11 libraries Qt's window needs (a minimal Linux may lack some): apt-get install them, as root.
system-deps: $(STAMP)
	$(BIN)/python -m kapmonitor.ui.platform_libs --install

# The tests, then the types (mypy, configured in pyproject.toml), then the layers (import-linter contracts).
test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/mypy kapmonitor
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check kapmonitor tests bench
	$(BIN)/mypy kapmonitor
	$(BIN)/lint-imports

screenshots: $(STAMP)
	KAPMONITOR_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_ui_screenshots.py tests/test_ui_clinical_screenshots.py \
		tests/test_ui_alarm_screenshots.py tests/test_ui_devices_screenshots.py tests/test_ui_demo_screenshot.py \
		tests/test_review_screenshots.py tests/test_ui_alarm_limits.py

clean:
	rm -rf $(VENV) build *.egg-info
