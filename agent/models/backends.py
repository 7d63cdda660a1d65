"""The model backends by `ModelConfig.type`: one name -> class table, classes imported on first use.

A backend class takes `(config: ModelConfig, sampling: Sampling | None)` and answers `query` (agent.protocol.Model).
It may also declare, as static methods, `check_config(config) -> str | None` (what a config of its type lacks) and
`from_spec(rest) -> dict` (the config fields of a `--model <type>:<rest>` value). Add a backend with one line here.
This module imports nothing of the agent's config, so the config can check its `type` here.
"""

from __future__ import annotations

import importlib
from typing import Any

from patchjury.agent.errors import AgentConfigError

BACKENDS: dict[str, str] = {
    "litellm": "patchjury.agent.models.litellm_model:LitellmModel",
    "deterministic": "patchjury.agent.models.deterministic:DeterministicModel",
    "replay": "patchjury.agent.models.replay:ReplayModel",
    "replay-bash": "patchjury.agent.models.replay_bash:ReplayBashModel",
}


def backend_class(type_: str) -> Any:
    """The class of backend `type_` (imported on first use)."""
    if type_ not in BACKENDS:
        raise AgentConfigError(f"unknown model type {type_!r}: use {', '.join(BACKENDS)}")
    module, _, attr = BACKENDS[type_].partition(":")
    return getattr(importlib.import_module(module), attr)
