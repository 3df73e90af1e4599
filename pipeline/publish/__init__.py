"""The publish room: the analyst copy and the data dictionary (README.md)."""
