"""The quality room: checks and expectation suites on the warehouse (README.md)."""
