"""The layers import downhill only: pipeline (domain) <- assets (Dagster) <- app (command line,
runner) <- devtools (demo, local portal, benchmarks). `pipeline/__main__.py` is the one launcher
allowed to reach up."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# package -> top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "schemas": {"pipeline", "assets", "app", "devtools", "dagster"},
    "pipeline": {"assets", "app", "devtools", "dagster"},
    "assets": {"app", "devtools"},
    "app": {"devtools"},
}
LAUNCHER = ROOT / "pipeline" / "__main__.py"


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_layer_imports_a_layer_above_it():
    violations = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == LAUNCHER:
                continue
            bad = imported_top_levels(path) & forbidden
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


def test_the_scan_sees_imports_inside_functions(tmp_path):
    """A guard that cannot fail proves nothing: a lazy import in a function body counts too."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from dagster import asset\n    import assets.jobs\n")
    assert imported_top_levels(module) == {"dagster", "assets"}
