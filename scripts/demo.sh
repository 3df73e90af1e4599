#!/usr/bin/env bash
# One command: set up, generate a demo province, serve it on a local portal, run everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pipeline demo "$@"
