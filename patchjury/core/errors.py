"""Errors of the front doors: expected failures carry one line saying what went wrong and how to fix it
(the CLI prints them as `error: ...`, see patchjury.cli.run_cli)."""

from __future__ import annotations


class PatchjuryError(Exception):
    """Base class for errors of the front doors (patchjury.core, .cli, .action, .report)."""


class UsageError(PatchjuryError, ValueError):
    """Bad input given to a command (unknown instance id, unreadable file...)."""
