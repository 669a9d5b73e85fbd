# The two front-door commands. Each installs what is missing first (apt
# packages, Python packages, the sandbox's cluster binaries, cached under
# ~/.cache/gonogo), so both work on a fresh machine.
PYTHON ?= python3

.PHONY: setup demo test lint

setup:
	bash sandbox/install-deps.sh
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[dev]' -e ./sandbox
	bash sandbox/cluster/build.sh >/dev/null

# REPORTS=DIR puts the demo's reports there instead of reports/demo.
demo: setup
	$(PYTHON) -m gonogo demo $(if $(REPORTS),--reports-dir $(REPORTS))

test: setup
	$(PYTHON) -m gonogo sandbox up
	$(PYTHON) -m pytest

lint:
	ruff check .
	ruff format --check .
	mypy
	lint-imports
