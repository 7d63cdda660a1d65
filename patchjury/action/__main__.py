"""`python -m patchjury.action`: what action.yml runs; one `::error::` line for expected failures."""

from __future__ import annotations

import os
import sys

from patchjury.action.run import main
from patchjury.core.errors import PatchjuryError

try:
    sys.exit(main())
except PatchjuryError as exc:
    if os.environ.get("PATCHJURY_DEBUG"):
        raise
    print(f"::error::patchjury: {exc}", file=sys.stderr)
    sys.exit(2)
