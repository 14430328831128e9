"""Unit and integration tests of the engine, the APIs and the fixtures."""
