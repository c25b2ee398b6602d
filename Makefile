# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo demo-clinic test bench lint screenshots system-deps system-tools postgresql clean

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

# The PostgreSQL server programs the tests and the clinic demo start a private server from (Debian's package;
# as root it is installed when missing, otherwise the PostgreSQL tests say they need it).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
		{ if [ "$$(id -u)" = 0 ]; then \
			echo "installing the PostgreSQL server for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
		else echo "PostgreSQL server programs missing: apt-get install postgresql (as root)"; exit 1; fi; }

# Besides the server, the tests read the PDF exports back with poppler's pdftotext (an independent reader).
system-tools: postgresql
	@command -v pdftotext >/dev/null 2>&1 || \
		{ if [ "$$(id -u)" = 0 ]; then \
			echo "installing poppler-utils (pdftotext) for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
		else echo "pdftotext missing: apt-get install poppler-utils (as root)"; exit 1; fi; }

# The tests, then the types (mypy, configured in pyproject.toml), then the layers (import-linter contracts).
# The same store tests run on SQLite and on a real PostgreSQL server, which must start here.
test: $(STAMP) system-tools
	KAPMONITOR_REQUIRE_POSTGRES=1 KAPMONITOR_REQUIRE_TOOLS=1 $(BIN)/python -m pytest
	$(BIN)/mypy kapmonitor
	$(BIN)/lint-imports

# A server, three simulated chairs recording into it, and the central station watching them.
demo-clinic: $(STAMP) postgresql
	$(BIN)/python -m kapmonitor.ui.central.demo

bench: $(STAMP) postgresql
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check kapmonitor tests bench
	$(BIN)/mypy kapmonitor
	$(BIN)/lint-imports

# docs/screenshots/: every screen at 1920x1080 and at 1366x768 (-laptop), each checked to fit that screen.
screenshots: $(STAMP)
	KAPMONITOR_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_ui_screenshots.py tests/test_ui_clinical_screenshots.py \
		tests/test_ui_alarm_screenshots.py tests/test_ui_devices_screenshots.py tests/test_ui_demo_screenshot.py \
		tests/test_review_screenshots.py tests/test_review_sign_dialog.py tests/test_ui_alarm_limits.py tests/test_ui_central.py tests/test_ui_network_tab.py

clean:
	rm -rf $(VENV) build *.egg-info
