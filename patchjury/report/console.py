"""Rich consoles that read well both in a terminal and in a log file, a CI job or a pipe.

Outside a terminal rich assumes 80 columns: long lines (paths, commands, error messages) are wrapped mid-path
and table cells are cut with an ellipsis. There, `make_console` never wraps printed lines (`soft_wrap`) and
gives tables room ($COLUMNS, else WIDE columns) so cells are not cut.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

WIDE = 200
"""Columns assumed outside a terminal (unless $COLUMNS says otherwise)."""


def make_console(stderr: bool = True) -> Console:
    """A console on stderr (or stdout) that wraps and cuts nothing when it is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else WIDE
    return Console(stderr=stderr, soft_wrap=True, width=width)
