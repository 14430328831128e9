# make serve installs what serving needs; make test adds the test tools. Each step re-runs
# when pyproject.toml or setup.py changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
TEST_STAMP    := $(VENV)/.test-stamp
ARGS   ?=

.PHONY: install serve test contract bench bench-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(TEST_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(TEST_STAMP)

serve: $(RUNTIME_STAMP)
	$(BIN)/sandbox serve $(ARGS)

# The tests that touch the store run a second time with every sandbox on a real redis-server
# (tests/redis_server.py starts one on a free loopback port; skipped where Debian's
# redis-server is missing, never in CI). `pytest --store redis` runs the whole suite so.
REDIS_TESTS := tests/test_payments.py tests/test_billing.py tests/test_exemptions.py tests/test_commerce.py \
               tests/test_workspaces.py tests/test_controls.py tests/test_scenarios.py tests/test_hostile.py \
               tests/test_bad_input.py tests/test_live.py tests/test_kit_control.py \
               tests/test_bridge.py tests/test_dispatch.py

test: $(TEST_STAMP)
	mkdir -p reports
	$(BIN)/python -m pytest --junitxml=reports/junit.xml $(ARGS)
	$(BIN)/python -m pytest --store redis --junitxml=reports/junit-redis.xml $(REDIS_TESTS) $(ARGS)

# The contract kit on one API: make contract API=payments ARGS='--base-url URL --token T'
# (without --base-url in ARGS it checks the sandbox in-process).
API ?= payments
contract: $(TEST_STAMP)
	mkdir -p reports
	$(BIN)/contract-test --api $(API) --junit reports/contract-$(API).xml --summary reports/contract-$(API).md $(ARGS)

bench: $(RUNTIME_STAMP)
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/slow_clients.py
	$(BIN)/python bench/vs_prism.py $(ARGS)
	$(BIN)/python bench/vs_prism.py --workers 1,2,4 --store redis $(ARGS)

# Start-up, memory and per-request costs at --scale 1, 100 and 1000 (scale 1000 takes minutes).
bench-scale: $(RUNTIME_STAMP)
	$(BIN)/python bench/scale.py $(ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis build dist
