#!/usr/bin/env bash
# One command: set up, lint, run the whole test suite (what CI runs: .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The dashboard test drives Debian's Chromium; install it when we may (root + apt), else that test skips.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the dashboard test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
    echo "setup: chromium could not be installed; the browser test will be skipped"
fi
# The Spark engine (backfill --engine spark, its test) needs a Java runtime: Debian's when we may
# (root + apt), else the Spark test skips and the command says why.
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's Java runtime (openjdk-17-jre-headless) for Spark"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) ||
    echo "setup: Java could not be installed; the Spark engine and its test will be unavailable"
fi
.venv/bin/ruff check .
# Two workers (pytest-xdist): the suite is mostly independent subprocesses and DuckDB work;
# DVC_TEST_WORKERS=0 runs it in one process.
exec .venv/bin/python -m pytest -n "${DVC_TEST_WORKERS:-2}" "$@"
