"""Pick an Env backend by the config's `type`; backend modules are imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from patchjury.envs.config import EnvConfig
from patchjury.envs.errors import EnvConfigError
from patchjury.envs.protocol import Env

#: type -> (module, class). Add a backend here.
BACKENDS: dict[str, tuple[str, str]] = {
    "local": ("patchjury.envs.local", "LocalEnv"),
    "docker": ("patchjury.envs.docker", "DockerEnv"),
}


def parse_env_config(data: Mapping[str, Any]) -> EnvConfig:
    """Validate a dict (from YAML) into the right config class, with a clear error for a bad `type`."""
    kind = data.get("type")
    if kind not in BACKENDS:
        raise EnvConfigError(f"unknown env type {kind!r}; valid types: {', '.join(sorted(BACKENDS))}")
    try:
        return TypeAdapter(EnvConfig).validate_python(dict(data))
    except ValidationError as exc:
        raise EnvConfigError(f"invalid {kind} env config: {exc}") from exc


def make_env(config: EnvConfig) -> Env:
    """Start an Env for `config` (e.g. LocalEnvConfig or DockerEnvConfig). Close it (or use `with`)."""
    kind = getattr(config, "type", None)
    if kind not in BACKENDS:
        raise EnvConfigError(f"unknown env type {kind!r}; valid types: {', '.join(sorted(BACKENDS))}")
    module, cls = BACKENDS[kind]
    backend = getattr(importlib.import_module(module), cls)
    env: Env = backend(config)
    return env
