"""Sandboxed environments: where commands run (`docker`, isolated; `local`, not isolated).

Kept light: `from patchjury.envs import make_env` imports no backend until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patchjury.envs.config import DockerEnvConfig, EnvConfig, LocalEnvConfig
    from patchjury.envs.protocol import Env, ExecResult
    from patchjury.envs.registry import make_env

__all__ = ["DockerEnvConfig", "Env", "EnvConfig", "ExecResult", "LocalEnvConfig", "make_env"]

_LAZY = {
    "make_env": "patchjury.envs.registry",
    "EnvConfig": "patchjury.envs.config",
    "LocalEnvConfig": "patchjury.envs.config",
    "DockerEnvConfig": "patchjury.envs.config",
    "Env": "patchjury.envs.protocol",
    "ExecResult": "patchjury.envs.protocol",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'patchjury.envs' has no attribute {name!r}")
