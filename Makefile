# Two commands from a fresh machine with Python 3.11 and pip: `make demo` and `make test`.
# The install step re-runs only when a pyproject or the dev requirements change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.metaticket-installed
PACKAGES := core datasets models methods
PLUGINS := metasgd
EDITABLES := $(foreach p,$(PACKAGES),-e packages/metaticket-$(p)) $(foreach p,$(PLUGINS),-e plugins/metaticket-$(p))
SOURCES := requirements-dev.txt $(foreach p,$(PACKAGES),packages/metaticket-$(p)/pyproject.toml) \
	$(foreach p,$(PLUGINS),plugins/metaticket-$(p)/pyproject.toml)

.PHONY: install demo test lint clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python $(SOURCES)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt $(EDITABLES)
	touch $@

demo: install
	$(BIN)/mt train

test: install
	$(BIN)/python -m pytest -q -n auto

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .nox
