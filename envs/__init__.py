"""Sandboxed environments: where commands run (`docker`, isolated; `local`, not isolated).

Kept light: `from envs import make_env` imports no backend until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envs.config import DockerEnvConfig, EnvConfig, LocalEnvConfig
    from envs.protocol import Env, ExecResult
    from envs.registry import make_env

__all__ = ["DockerEnvConfig", "Env", "EnvConfig", "ExecResult", "LocalEnvConfig", "make_env"]

_LAZY = {
    "make_env": "envs.registry",
    "EnvConfig": "envs.config",
    "LocalEnvConfig": "envs.config",
    "DockerEnvConfig": "envs.config",
    "Env": "envs.protocol",
    "ExecResult": "envs.protocol",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'envs' has no attribute {name!r}")
