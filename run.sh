#!/usr/bin/env bash
# Pilotline's two commands, for a fresh Debian machine with Python 3.11:
#   ./run.sh demo   set up, simulate a plant into ./pilotline-home and write its report
#   ./run.sh test   set up, then lint, type-check, check the layers and run the whole test suite
#   ./run.sh bench [connect|map|conform|floor|measure|web|writes|engines|sizing|bigcsv]   set up (and wrk), then run the benchmarks (long)
set -euo pipefail
cd "$(dirname "$0")"

PY=$(command -v python3.11 || command -v python3)

setup() {
  if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        "$PY" -m venv .venv
      else
        echo "Python's venv module is missing: run 'sudo apt-get install python3-venv' and try again." >&2
        exit 1
      fi
    fi
  fi
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[dev]"
}

# Debian packages the tests use: Graphviz draws process maps; Chromium prints A3 reports to PDF;
# Mosquitto is the real MQTT broker the connector tests start on 127.0.0.1; Node.js runs node-opcua,
# the second, independent OPC UA server of the connector tests; PostgreSQL's server (a throwaway
# cluster per test run) and Java 17 (Spark in local mode) run the engine conformance suite.
system_packages() {
  local missing=""
  command -v dot >/dev/null || missing="$missing graphviz"
  command -v chromium >/dev/null || missing="$missing chromium"
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
  command -v npm >/dev/null || missing="$missing nodejs npm"
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
  command -v java >/dev/null || missing="$missing openjdk-17-jre-headless"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null
  else
    echo "The tests need:$missing. Install with: sudo apt-get install$missing" >&2
    exit 1
  fi
}

case "${1:-}" in
  demo)
    setup
    .venv/bin/pilotline --home "${PILOTLINE_HOME:-./pilotline-home}" demo --no-serve --force
    ;;
  test)
    system_packages
    setup
    # Test peers from the npm registry, pinned by tests/connect/peers/package-lock.json.
    (cd tests/connect/peers && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    .venv/bin/ruff format --check src tests bench
    .venv/bin/ruff check src tests bench
    .venv/bin/mypy
    .venv/bin/lint-imports
    # Two workers, each taking whole test files (module fixtures such as a served app or a
    # browser are made once per file); add "-n 0" to run in one process.
    .venv/bin/pytest -q -p no:cacheprovider -n 2 --dist loadfile "${@:2}"
    ;;
  bench)
    system_packages
    if ! command -v wrk >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq wrk >/dev/null
      else
        echo "The web benchmark needs wrk: sudo apt-get install wrk" >&2
        exit 1
      fi
    fi
    setup
    for name in ${2:-connect map conform floor measure web writes engines sizing bigcsv share ai}; do
      echo "== bench/bench_$name.py"
      .venv/bin/python "bench/bench_$name.py"
    done
    ;;
  *)
    echo "usage: ./run.sh demo | ./run.sh test | ./run.sh bench [connect|map|conform|floor|measure|web|writes|engines|sizing|bigcsv]" >&2
    exit 2
    ;;
esac
