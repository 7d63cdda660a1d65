"""Pick a model backend by `ModelConfig.type` (backends imported lazily)."""

from __future__ import annotations

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.errors import AgentConfigError
from patchjury.agent.models.base import Sampling
from patchjury.agent.protocol import Model


def make_model(config: ModelConfig, sampling: Sampling | None = None) -> Model:
    """A Model for `config` with per-trajectory sampling settings."""
    if config.type == "litellm":
        from patchjury.agent.models.litellm_model import LitellmModel

        return LitellmModel(config, sampling)
    if config.type == "deterministic":
        from patchjury.agent.models.deterministic import DeterministicModel

        return DeterministicModel(config, sampling)
    if config.type == "replay":
        from patchjury.agent.models.replay import ReplayModel

        return ReplayModel(config, sampling)
    if config.type == "replay-bash":
        from patchjury.agent.models.replay_bash import ReplayBashModel

        return ReplayBashModel(config, sampling)
    raise AgentConfigError(
        f"unknown model type {config.type!r}: use litellm, deterministic, replay or replay-bash"
    )


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
    """`--model` values -> configs: `deterministic:<script.yaml>`, `replay:<trajectory.json>`,
    `replay-bash:<other agent's trajectory>[#instance_id]`, or a litellm
    model name (`openai/gpt-4o-mini`). `common` (e.g. api_base, api_key_env, timeout) applies to litellm ones."""
    out = []
    for name in names:
        kind, sep, rest = name.partition(":")
        if sep and kind == "deterministic":
            out.append(ModelConfig(type="deterministic", name=f"deterministic:{rest}", script_path=rest))
        elif sep and kind == "replay":
            out.append(ModelConfig(type="replay", replay_path=rest))
        elif sep and kind == "replay-bash":
            out.append(ModelConfig(type="replay-bash", replay_path=rest))
        else:
            out.append(ModelConfig.model_validate({"type": "litellm", "name": name, **common}))
    return out
