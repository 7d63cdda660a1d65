"""Exceptions of the envs package. Each also inherits the matching builtin."""

from __future__ import annotations


class EnvError(Exception):
    """Base class for every envs error."""


class EnvConfigError(EnvError, ValueError):
    """A configuration value is wrong (unknown backend type, bad limit, missing image)."""


class EngineUnavailableError(EnvError, ConnectionError):
    """The Docker engine cannot be reached."""


class ImageBuildError(EnvError, RuntimeError):
    """Building or bootstrapping an image failed."""


class EnvClosedError(EnvError, RuntimeError):
    """An operation was attempted on an Env after close()."""


class EnvFileError(EnvError, OSError):
    """Reading or writing a file inside an Env failed."""


class EnvCommandError(EnvError, RuntimeError):
    """A command patchjury itself needs (git checkout, diff, reset) failed inside an Env."""
