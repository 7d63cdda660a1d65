"""Make the model of a trajectory from its ModelConfig (backends: agent.models.backends)."""

from __future__ import annotations

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.errors import AgentConfigError
from patchjury.agent.models.backends import BACKENDS, backend_class
from patchjury.agent.models.base import Sampling
from patchjury.agent.protocol import Model


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
    `replay:<trajectory.json>`, `replay-bash:<file>[#id]`), else a litellm model name (`openai/gpt-4o-mini`).
    `common` (the config file's `model:` fields: api_base, api_key_env, context_window, latency_s, ...) is the
    base each flag's fields override."""
    out = []
    for name in names:
        kind, sep, rest = name.partition(":")
        from_spec = getattr(backend_class(kind), "from_spec", None) if sep and kind in BACKENDS else None
        fields = (
            {"type": kind, **from_spec(rest)} if from_spec is not None else {"type": "litellm", "name": name}
        )
        if fields["type"] != common.get("type", "litellm"):
            fields.setdefault("name", "")  # a name set for another backend is no label for this one
        out.append(ModelConfig.model_validate({**common, **fields}))
    return out
