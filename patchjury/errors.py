"""Top-level error handling for the CLI: expected failures print one line saying what and how to fix."""

from __future__ import annotations

import os
import sys

import typer


class PatchjuryError(Exception):
    """Base class for errors of the front doors (patchjury package)."""


class UsageError(PatchjuryError, ValueError):
    """Bad input given to a command (unknown instance id, unreadable file...)."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    from patchjury.config import ConfigError
    from patchjury.envs.errors import EnvError

    errs: list[type[BaseException]] = [PatchjuryError, EnvError, ConfigError]
    for mod, name in (
        ("patchjury.agent.errors", "AgentError"),
        ("patchjury.selection.errors", "SelectionError"),
        ("patchjury.tools.errors", "ToolError"),
    ):
        try:
            errs.append(getattr(__import__(mod, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errs)


def run_cli(app: typer.Typer) -> None:
    """Run the typer app; known errors become `error: ...` on stderr and exit code 2."""
    try:
        app(standalone_mode=True)
    except _expected_errors() as exc:
        if os.environ.get("PATCHJURY_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
