"""Exceptions of the selection package. Each also inherits the matching builtin."""

from __future__ import annotations


class SelectionError(Exception):
    """Base class for every selection error."""


class CandidateFormatError(SelectionError, ValueError):
    """A candidates file (JSONL) has a bad line; the message names file:line, the problem and the fix."""


class PatchFormatError(SelectionError, ValueError):
    """A patch is not a valid unified diff."""


class SelectionConfigError(SelectionError, ValueError):
    """A selection or verifier configuration value is wrong (unknown type, missing artifact...)."""


class VerifierError(SelectionError, RuntimeError):
    """A verifier could not score a candidate (model endpoint failed, artifact unusable...)."""


class ExecutionError(SelectionError, RuntimeError):
    """Running candidates' tests in an environment failed for reasons other than test failures."""


class StaticCheckError(SelectionError, OSError):
    """The repository source a static check needs cannot be read (missing commit, broken mirror...)."""
