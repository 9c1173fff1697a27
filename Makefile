# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := wastetrail.settings
# Locally (no SECRET_KEY given) everything runs in debug mode; a deployment sets SECRET_KEY.
LOCAL := if [ -z "$$SECRET_KEY" ]; then export DEBUG=$${DEBUG:-1}; fi;

.PHONY: setup run test test-fast bench lint messages clean

setup: $(VENV)/.installed wastetrail/static/build/.built
	$(LOCAL) $(BIN)/wastetrail migrate --noinput -v 0

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

wastetrail/static/build/.built: node_modules/.installed frontend/build.mjs $(wildcard frontend/src/*)
	node frontend/build.mjs
	touch $@

# The demo scenario on first run, then web + JT/T 808 gateway + the demo fleet's simulated terminals.
run: setup
	$(LOCAL) $(BIN)/wastetrail demo --if-empty --live --port $(PORT)

test: setup
	DEBUG=1 $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: setup
	DEBUG=1 $(BIN)/python -m pytest -q -m "not browser" $(PYTEST_ARGS)

bench: setup
	DEBUG=1 $(BIN)/python -m wastetrail.bench

lint: setup
	$(BIN)/ruff check .

# Developers only (needs GNU gettext): refresh the catalogues after changing UI strings.
messages: setup
	cd wastetrail && DEBUG=1 ../$(BIN)/wastetrail makemessages -l zh_Hans --no-obsolete --no-location
	cd wastetrail && DEBUG=1 ../$(BIN)/wastetrail compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) node_modules wastetrail/static/build var
