"""The contract-test kit: check any implementation of one of these APIs against its spec.

``contract-test --api NAME [--base-url URL] ...`` (``contract_tests.cli``); the spec is judged
as its document states it (``x-derived`` rules are the sandbox's decisions: warnings).
"""
