# The two commands of the README:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
DB     ?= demo.gpkg
PORT   ?= 8000
BIN     = $(VENV)/bin

.PHONY: run test docs bench web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

## run: set up, build the demo database if it is missing, print the summary, then serve the web app
run: $(VENV)/.installed-run
	@test -f $(DB) || { $(BIN)/safeground demo --db $(DB) && \
		$(BIN)/safeground plan make --start $$(date +%F) --horizon 52 --adopt --db $(DB); }
	@test -f $(DB).tiles || $(BIN)/safeground tiles build --db $(DB)
	$(BIN)/safeground stats --db $(DB)
	@cat $(basename $(DB)).accounts.txt 2>/dev/null || echo "No demo accounts: add one with '$(BIN)/safeground users add NAME --role admin --db $(DB)'."
	$(BIN)/safeground serve --db $(DB) --port $(PORT)

## test: set up with the dev tools, lint, type-check and run the whole suite
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

## docs: regenerate the generated sections of docs/design.md
docs: $(VENV)/.installed-run
	$(BIN)/python -c "from safeground.docs import update_design; update_design('docs/design.md')"

## bench: the national-scale demo benchmark (minutes; never run by the tests)
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_demo_national.py

## web: reinstall the web map's browser libraries from npm (package-lock.json) and copy them into the package
web:
	npm ci --no-audit --no-fund
	npm run vendor

clean:
	rm -rf $(VENV) $(DB) $(DB:.gpkg=.truth.gpkg) $(DB:.gpkg=.context.gpkg)
