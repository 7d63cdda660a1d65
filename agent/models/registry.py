"""Model backends by `ModelConfig.type`: one name -> class table, classes imported lazily.

A backend class takes `(config: ModelConfig, sampling: Sampling | None)` and answers `query` (agent.protocol.Model).
It may also declare, as static methods, `check_config(config) -> str | None` (what a config of its type lacks) and
`from_spec(rest) -> dict` (the config fields of a `--model <type>:<rest>` value). Add a backend with one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.errors import AgentConfigError
from patchjury.agent.models.base import Sampling
from patchjury.agent.protocol import Model

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


def make_model(config: ModelConfig, sampling: Sampling | None = None) -> Model:
    """A Model for `config` with per-trajectory sampling settings."""
    model: Model = backend_class(config.type)(config, sampling)
    return model


def model_for(index: int, models: list[ModelConfig], agent: AgentConfig) -> Model:
    """The model of trajectory `index`: models are used round robin, sampling varies per index."""
    if not models:
        raise AgentConfigError(
            "no model configured: pass at least one model (e.g. --model openai/gpt-4o-mini)"
        )
    sampling = Sampling(
        temperature=agent.temperature_for(index), top_p=agent.top_p, seed=agent.seed_for(index), index=index
    )
    return make_model(models[index % len(models)], sampling)


def model_configs_from_names(names: list[str], **common: object) -> list[ModelConfig]:
    """`--model` values -> configs: `<type>:<rest>` for a backend that reads specs (`deterministic:<script.yaml>`,
    `replay:<trajectory.json>`), else a litellm model name (`openai/gpt-4o-mini`). `common` (e.g. api_base,
    api_key_env, timeout) applies to litellm ones."""
    out = []
    for name in names:
        kind, sep, rest = name.partition(":")
        from_spec = getattr(backend_class(kind), "from_spec", None) if sep and kind in BACKENDS else None
        if from_spec is not None:
            out.append(ModelConfig.model_validate({"type": kind, **from_spec(rest)}))
        else:
            out.append(ModelConfig.model_validate({"type": "litellm", "name": name, **common}))
    return out
