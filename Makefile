# The two commands a new user needs: `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install system-deps lint unit down bench faults clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser tests and the PostgreSQL run need; installed only when missing.
system-deps:
	@bash infra/scripts/system-deps.sh

run: install
	$(BIN)/listening-center run

down: install
	$(BIN)/listening-center down

test: install system-deps
	bash infra/scripts/test.sh

# The same checks as `make test`. Not `ruff format --check`: the code keeps its hand-wrapped layout, which
# the formatter would rewrite in 143 files; `ruff check` enforces the rules (line length included).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

# Kill and restart Kafka, Elasticsearch and the components during a 20k-mention replay on a second engine pair
# (ports 19092/19200); prints the report (docs/reliability.md). LC_FAULTS_MENTIONS / _ES_PAUSE change the run.
faults: install
	$(BIN)/python -m tests.faults

bench: install
	$(BIN)/listening-center bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
