"""The generic engine: reads each API's OpenAPI document and serves it; knows nothing about customers."""
