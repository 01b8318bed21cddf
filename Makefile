# Two commands do all set-up: `make run` (start the bot) and `make test` (run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: a bare requirement would pull a multi-GB CUDA build where a CPU wheel
# is wanted (override with TORCH_SPEC=... for a GPU box).
TORCH_SPEC ?= torch==2.13.0

.PHONY: install run test quick lint

$(BIN)/.installed: pyproject.toml
	# The web companion's browser tests run Debian's chromium (playwright drives it).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/imaginebot run

test: install
	$(BIN)/python -m pytest

quick: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy moderation db inference/prompt services
