#!/usr/bin/env bash
# The project's test command (README: Quick start): the whole suite, as CI runs it (Docker-marked tests fail, not
# skip, when CI=true). `--fast` leaves out the tests marked slow, for quick local runs (same as -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then args+=(-m "not slow"); else args+=("$arg"); fi
done
exec python -m pytest -q -p no:cacheprovider --durations=15 ${args[@]+"${args[@]}"}
