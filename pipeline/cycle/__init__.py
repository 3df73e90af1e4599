"""The official reporting cycle: period status, issues, restatements (README.md; docs/definitions.md §6)."""
