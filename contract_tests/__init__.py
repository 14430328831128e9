"""Target-agnostic contract tests: the same suite runs in-process or against a base URL."""
