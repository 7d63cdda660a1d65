#!/usr/bin/env bash
# Offline base images (no container registry needed): debootstrap a Debian suite from the mirror in this
# machine's apt sources, then `docker import` it. Cached by content hash: a second run only prints the tag.
#   bash scripts/bootstrap_base_image.sh            # bookworm (Python 3.11)
#   bash scripts/bootstrap_base_image.sh bullseye   # Python 3.9, for older SWE-bench instances
# Needs root, debootstrap (apt-get install -y debootstrap) and a running Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m patchjury.cli images bootstrap --suite "${1:-bookworm}" "${@:2}"
