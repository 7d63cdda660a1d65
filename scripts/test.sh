#!/usr/bin/env bash
# The project's test command (README: Quick start). Docker-marked tests fail (not skip) when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest -q -p no:cacheprovider --durations=15 "$@"
