"""The top-level configuration of the front doors: one YAML file with a section per component.

    model:     {name: openai/gpt-4o, api_key_env: OPENAI_API_KEY}   # agent.config.ModelConfig
    models:    []                                                   # more models, mixed round robin
    agent:     {n_trajectories: 4, workers: 2, step_limit: 50}      # agent.config.AgentConfig
    env:       {type: auto, setup: "pip install -e ."}              # envs.plan.EnvSettings
    selection: {selector: staged}                                   # selection.config.SelectionConfig
    max_cost:  5.0                                                  # dollars for the whole run

Built with patchjury.core.config.build_config from `-c file.yaml -c agent.step_limit=50` (left to right), then
command-line flags override single fields.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.core.config import ConfigError, build_config
from patchjury.core.errors import UsageError
from patchjury.envs.plan import EnvSettings
from patchjury.selection.config import SelectionConfig


class Settings(BaseModel):
    """Everything `patchjury solve`, `demo` and `swebench run` need."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig | None = None
    """The model of every trajectory (None: give `--model` or `model.name`)."""
    models: list[ModelConfig] = Field(default_factory=list)
    """Several models used round robin across trajectories (overrides `model` when non-empty)."""
    agent: AgentConfig = Field(default_factory=AgentConfig)
    """The agent loop: trajectories, workers, limits, sampling, prompt."""
    env: EnvSettings = Field(default_factory=EnvSettings)
    """Sandboxes."""
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    """The jury."""
    max_cost: float | None = Field(default=None, ge=0)
    """Dollar budget for one run (one issue): split evenly into each trajectory's cost limit."""

    def model_list(self) -> list[ModelConfig]:
        if self.models:
            return list(self.models)
        if self.model is None:
            raise UsageError(
                "no model configured: pass --model NAME (e.g. --model openai/gpt-4o) or set `model.name` in a "
                "config file; `patchjury demo` runs offline without one"
            )
        return [self.model]

    def trajectory_cost_limit(self) -> float:
        """Per-trajectory dollar limit: the agent's, tightened so N trajectories fit in `max_cost`."""
        limit = self.agent.cost_limit
        if self.max_cost is None:
            return limit
        share = self.max_cost / self.agent.n_trajectories
        return share if limit == 0 else min(limit, share)


def load_settings(
    specs: Iterable[str] = (),
    *,
    models: Sequence[str] = (),  # `--model` values: litellm names, `deterministic:<script>`, `replay:<json>`
    n: int | None = None,
    traj_workers: int | None = None,
    test_workers: int | None = None,
    max_cost: float | None = None,
    setup: str | None = None,
    memory: str | None = None,
    cpus: float | None = None,
    base: dict[str, Any] | None = None,
) -> Settings:
    """`-c` specs merged left to right over `base`, then the command-line flags."""
    settings = build_config(Settings, list(specs), base=base)
    updates: dict[str, Any] = {}
    agent: dict[str, Any] = {}
    if models:
        from patchjury.agent.models.registry import model_configs_from_names

        # litellm models named by flags keep the config file's endpoint/key/timeout settings
        keep = ("api_base", "api_key_env", "timeout", "retries", "backoff_s", "text_tool_format", "extra")
        common = {
            k: v for k, v in (settings.model.model_dump() if settings.model else {}).items() if k in keep
        }
        try:
            updates["models"] = model_configs_from_names(list(models), **common)
        except ValueError as exc:
            raise ConfigError(f"bad --model: {exc}") from exc
    if n is not None:
        agent["n_trajectories"] = n
    if traj_workers is not None:
        agent["workers"] = traj_workers
    if agent:
        updates["agent"] = settings.agent.model_copy(update=agent)
    if test_workers is not None:
        execution = settings.selection.execution.model_copy(update={"workers": test_workers})
        updates["selection"] = settings.selection.model_copy(update={"execution": execution})
    if max_cost is not None:
        updates["max_cost"] = max_cost
    env = {k: v for k, v in (("setup", setup), ("memory", memory), ("cpus", cpus)) if v is not None}
    if env:
        updates["env"] = settings.env.model_copy(update=env)
    settings = settings.model_copy(update=updates)
    # Revalidate the result (model_copy does not), so flags get the same checks as files.
    return build_config(Settings, [], base=settings.model_dump(mode="json", exclude_none=False))


def check_model_keys(models: Sequence[ModelConfig]) -> None:
    """Fail BEFORE any work when a model's API key is missing: one error naming the variable(s)."""
    problems: list[str] = []
    for cfg in models:
        if cfg.type != "litellm":
            continue
        if cfg.api_key_env:
            if not os.environ.get(cfg.api_key_env):
                problems.append(f"{cfg.name} needs {cfg.api_key_env} (model.api_key_env)")
            continue
        if cfg.api_base:
            continue  # a self-hosted OpenAI-compatible server usually takes no key
        missing = _litellm_missing_keys(cfg.name)
        if missing:
            problems.append(f"{cfg.name} needs {' or '.join(missing)}")
    if problems:
        raise UsageError(
            "missing API key: "
            + "; ".join(dict.fromkeys(problems))
            + ". Export it (e.g. `export OPENAI_API_KEY=...`), set model.api_key_env, or point model.api_base "
            "at a local OpenAI-compatible server; `patchjury demo` needs no key"
        )


def _litellm_missing_keys(name: str) -> list[str]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    info = litellm.validate_environment(model=name)
    return [] if info.get("keys_in_environment") else [str(k) for k in info.get("missing_keys", [])]
