"""Exceptions of the agent package. Each also inherits the matching builtin."""

from __future__ import annotations

from patchjury.trajectory_record import RecordFileError


class AgentError(Exception):
    """Base class for every agent error."""


class AgentConfigError(AgentError, ValueError):
    """A configuration value is wrong (unknown model type, unreadable script or prompt file...)."""


class ModelError(AgentError, RuntimeError):
    """The model could not answer (API error after retries, timeout, script exhausted...)."""


class ContextWindowError(ModelError):
    """The provider refused the prompt as longer than the model's context window."""


class ContextExhaustedError(AgentError, RuntimeError):
    """Even the shortest history does not fit the context window (status `context_exhausted`)."""


class PromptError(AgentError, ValueError):
    """A prompt template is missing, malformed, or references an undefined variable."""


class TrajectoryFileError(AgentError, RecordFileError):
    """A trajectory record cannot be written (reading raises the ground floor's RecordFileError)."""


class ResumeError(AgentError, RuntimeError):
    """A checkpointed trajectory cannot be resumed (its workspace snapshot does not apply)."""


class Interrupted(AgentError, RuntimeError):
    """The run was asked to stop: a trajectory stops before its next model query (its last checkpoint stays
    resumable), and queued ones do not start."""
