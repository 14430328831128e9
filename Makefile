# make serve / make test each create or refresh .venv (when pyproject.toml changes) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: install serve test contract bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/sandbox serve $(ARGS)

test: $(STAMP)
	mkdir -p reports
	$(BIN)/python -m pytest --junitxml=reports/junit.xml $(ARGS)

# The contract kit on one API: make contract API=payments ARGS='--base-url URL --token T'
# (without --base-url in ARGS it checks the sandbox in-process).
API ?= payments
contract: $(STAMP)
	mkdir -p reports
	$(BIN)/contract-test --api $(API) --junit reports/contract-$(API).xml --summary reports/contract-$(API).md $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/throughput.py $(ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis
