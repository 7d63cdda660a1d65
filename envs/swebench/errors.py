"""Errors of the SWE-bench harness. All are envs errors (the CLI prints them as one line) and builtins."""

from __future__ import annotations

from patchjury.envs.errors import EnvError


class SWEBenchError(EnvError):
    """Base class for SWE-bench harness errors."""


class DatasetError(SWEBenchError, ValueError):
    """An instances or predictions file cannot be read or is malformed."""


class SelectionError(SWEBenchError, ValueError):
    """A selection (--instance-ids, --slice, --filter) is invalid or names unknown instances."""


class RecipeMissing(SWEBenchError, LookupError):
    """No install recipe exists for a repo/version (recorded per instance, never a crash)."""


class RecipeError(SWEBenchError, ValueError):
    """recipes.yaml is malformed."""


class RepoCacheError(SWEBenchError, OSError):
    """A repository is neither in the repo cache nor clonable."""


class ParserError(SWEBenchError, LookupError):
    """A log parser name is unknown."""


class GradingError(SWEBenchError, RuntimeError):
    """One instance could not be graded (image, container, test patch...); recorded in its error.json."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage
        """Where it failed: image, test_cmd, container, test_patch, tests, parse."""
