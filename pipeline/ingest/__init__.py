"""The ingest room: export files, API pages and reference lists into raw.* and core.* (README.md)."""
