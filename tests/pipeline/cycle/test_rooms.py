"""The cycle sits below the reports: it issues rows and is handed the file writer
(reports.issue_files.write_issue_files), never importing the reports itself."""

from __future__ import annotations

import ast
from pathlib import Path

CYCLE = Path(__file__).resolve().parents[3] / "pipeline" / "cycle"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_cycle_does_not_import_the_reports():
    modules = sorted(CYCLE.glob("*.py"))
    assert modules  # the scan sees the room
    reaching_up = {p.name: sorted(m for m in imported_modules(p) if m.startswith("pipeline.reports"))
                   for p in modules}
    assert {name: found for name, found in reaching_up.items() if found} == {}


def test_the_scan_sees_a_lazy_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pipeline import reports\n    from pipeline.reports.xlsx import x\n")
    assert {"pipeline.reports", "pipeline.reports.xlsx"} <= imported_modules(module)
