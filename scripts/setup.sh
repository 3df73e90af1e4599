#!/usr/bin/env bash
# Creates .venv with the machine's Python 3.11 and installs the project (idempotent: reinstalls
# only when pyproject.toml changed). Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 is required (python3.11 or python3 on PATH)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  PYTHON=$(find_python)
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project and its dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev,spark]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
