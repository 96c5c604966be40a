# `make lab`: the main job. `make test`: everything CI runs. `make bench`: every benchmark once, small.
# `make outputs`: run the notebooks and keep their outputs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8888
# pytest-xdist workers for `make test`: each has its own JupyterLab, Notebook 7 and Chromium (most of a test's time is
# waiting on them, so more workers than cores); `make test WORKERS=0` runs the tests in one process
WORKERS ?= 3

.PHONY: lab test test-venv bench export readme check-export outputs vendor clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
# the wheel's data-file, which an editable install leaves out: Jupyter loads fhnb's server extension (fhnb.extension)
	install -D -m 644 jupyter-config/jupyter_server_config.d/fhnb.json $(VENV)/etc/jupyter/jupyter_server_config.d/fhnb.json
	touch $@

lab: $(STAMP)
	$(BIN)/fhnb lab --port $(PORT) --LabApp.default_url=/lab/tree/nbs

export: $(STAMP)
	$(BIN)/nbdev-export

outputs: $(STAMP)
	$(BIN)/python scripts/outputs.py save

readme: $(STAMP)
	$(BIN)/python .ci/readme.py

check-export: $(STAMP)
	$(BIN)/python .ci/check_export.py
	$(BIN)/python .ci/readme.py --check

# The notebooks' outputs are checked even when a test failed (make fails if either did); pytest ends with the ten slowest tests.
# The tests that install into a fresh virtual environment from the package index (marked `venv`: minutes each) are
# `make test-venv`'s; CI runs both.
test: check-export
	@status=0; \
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist worksteal -m 'not venv' || status=1; \
	$(BIN)/python scripts/outputs.py check || status=1; \
	exit $$status

test-venv: $(STAMP)
	$(BIN)/python -m pytest -q -m venv

# Every script in bench/ once with small settings (bench/run.py); fails when one fails, not when a figure is slow.
bench: $(STAMP)
	$(BIN)/python bench/run.py

# Check the vendored front-end assets against npm and repository snapshots (SNAPSHOTS=DIR of OWNER+NAME/repo git dirs; not run by CI).
# `make vendor SNAPSHOTS=DIR ARGS=--update` rebuilds fhnb/static/vendor from the installed python-fasthtml.
vendor: $(STAMP)
	$(BIN)/python scripts/vendor.py $(if $(SNAPSHOTS),--snapshots $(SNAPSHOTS)) $(ARGS)

clean:
	rm -rf $(VENV) _docs _proc .pytest_cache
