"""Errors of the Ray backend: each inherits the matching builtin (and the front door's base class)."""

from __future__ import annotations

from patchjury.core.errors import PatchjuryError
from patchjury.envs.errors import EnvError, ImageBuildError


class ClusterError(PatchjuryError, RuntimeError):
    """The cluster cannot run the work (no node with Docker, a node without patchjury, ...)."""


class ClusterUnavailableError(ClusterError, ConnectionError):
    """The Ray cluster cannot be reached at the given address."""


class RayMissingError(ClusterError, ImportError):
    """`--ray` was given but Ray is not installed."""


class RegistryError(ClusterError):
    """The image registry refuses what the run needs (checked before work starts)."""


class RegistryPushError(ImageBuildError):
    """A node built an environment image but the registry refused it (recorded for that instance)."""


class NodeLostError(EnvError, ConnectionError):
    """The node holding an environment died or left the cluster."""
