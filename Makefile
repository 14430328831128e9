# make serve / make test each create or refresh .venv (when pyproject.toml changes) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: install serve test contract bench bench-scale clean

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

# The contract suite alone, against a live target: make contract CONTRACT_BASE_URL=http://host:port
contract: $(STAMP)
	mkdir -p reports
	$(BIN)/python -m pytest contract_tests --junitxml=reports/contract.xml $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/vs_prism.py $(ARGS)

# Start-up, memory and per-request costs at --scale 1, 100 and 1000 (scale 1000 takes minutes).
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py $(ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis
