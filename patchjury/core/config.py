"""Layered configuration: YAML files, then `key.path=value` overrides, validated by pydantic.

`-c base.yaml -c agent.step_limit=50 -c env.type=local` merges left to right. Values of
overrides are parsed as YAML scalars/flow collections (`50` -> int, `[a, b]` -> list).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file or override is malformed; the message names the item and the fix."""


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge `update` into a copy of `base` (dicts merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(item: str) -> dict[str, Any]:
    """`a.b.c=value` -> {"a": {"b": {"c": value}}}."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"bad override {item!r}: expected KEY.PATH=VALUE (e.g. agent.step_limit=50) or a YAML file"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"bad value in override {item!r}: {exc}") from exc
    node: dict[str, Any] = {}
    cur = node
    parts = key.split(".")
    for part in parts[:-1]:
        cur[part] = {}
        cur = cur[part]
    cur[parts[-1]] = value
    return node


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping at the top level, got {type(data).__name__}"
        )
    return data


def merge_specs(specs: Iterable[str], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge `-c` items (YAML file paths or KEY=VALUE overrides) over `base`, left to right."""
    data: dict[str, Any] = dict(base or {})
    for spec in specs:
        if "=" in spec and not Path(spec).exists():
            data = deep_merge(data, parse_override(spec))
        else:
            path = Path(spec)
            if not path.exists():
                raise ConfigError(f"config file {spec!r} not found (use KEY.PATH=VALUE for an override)")
            data = deep_merge(data, load_yaml(path))
    return data


def build_config(model: type[M], specs: Iterable[str] = (), base: dict[str, Any] | None = None) -> M:
    """Validate the merged specs against `model`; errors name the offending key."""
    data = merge_specs(specs, base)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"{loc}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from exc
