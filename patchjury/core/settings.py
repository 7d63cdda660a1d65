"""The top-level configuration of the front doors: one YAML file with a section per component.

    model:     {name: openai/gpt-4o, api_key_env: OPENAI_API_KEY}   # agent.config.ModelConfig
    models:    []                                                   # more models, mixed round robin
    agent:     {n_trajectories: 4, workers: 2, step_limit: 50}      # agent.config.AgentConfig
    env:       {type: auto, setup: "pip install -e ."}              # envs.plan.EnvSettings
    selection: {selector: staged}                                   # selection.config.SelectionConfig
    max_cost:  5.0                                                  # dollars for the whole run
    ray:       {address: auto, image_registry: null}                # core.cluster.config.RayConfig (--ray)
    adaptive:  {enabled: false, threshold: 0.8}                     # agent.adaptive.AdaptiveConfig (--adaptive)

Built with patchjury.core.config.build_config from `-c file.yaml -c agent.step_limit=50` (left to right), then
command-line flags override single fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchjury.agent.adaptive import AdaptiveConfig
from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.core.cluster.config import RayConfig
from patchjury.core.config import ConfigError, build_config, merge_specs
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
    ray: RayConfig | None = None
    """Run trajectories and the jury's containers on this Ray cluster (`--ray [ADDRESS]`); None: this machine."""
    adaptive: AdaptiveConfig = Field(default_factory=AdaptiveConfig)
    """Sample trajectories in waves and stop once the jury is sure (`--adaptive`); off: always all N."""

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
    env_type: str | None = None,
    ray: str | None = None,
    image_registry: str | None = None,
    adaptive: bool | None = None,
    base: dict[str, Any] | None = None,
) -> Settings:
    """`-c` specs merged left to right over `base`, then the command-line flags, validated once.

    Models named by `--model` keep the config's `model:` fields (endpoint, key variable, context window,
    latency, ...): `--model openai/X -c model.api_base=URL` and `--model deterministic:F.yaml -c
    model.latency_s=1.5` both work, and a config file may set only `model.api_base` / `model.api_key_env`."""
    data = merge_specs(list(specs), base)
    if models:
        from patchjury.agent.models.registry import model_configs_from_names

        common = _section(data, "model")
        data.pop("model", None)
        try:
            data["models"] = [m.model_dump() for m in model_configs_from_names(list(models), **common)]
        except ValueError as exc:
            raise ConfigError(f"bad --model: {exc}") from exc
    agent = {k: v for k, v in (("n_trajectories", n), ("workers", traj_workers)) if v is not None}
    if agent:
        data["agent"] = {**_section(data, "agent"), **agent}
    if test_workers is not None:
        selection = _section(data, "selection")
        data["selection"] = {
            **selection,
            "execution": {**_section(selection, "execution"), "workers": test_workers},
        }
    if max_cost is not None:
        data["max_cost"] = max_cost
    env = {
        k: v
        for k, v in (("setup", setup), ("memory", memory), ("cpus", cpus), ("type", env_type))
        if v is not None
    }
    if env:
        data["env"] = {**_section(data, "env"), **env}
    if ray is not None or image_registry is not None:
        if ray is None and not data.get("ray"):
            raise UsageError("--image-registry is for runs on a Ray cluster: add --ray [ADDRESS]")
        cluster = {k: v for k, v in (("address", ray), ("image_registry", image_registry)) if v is not None}
        data["ray"] = {**_section(data, "ray"), **cluster}
    if adaptive:
        data["adaptive"] = {**_section(data, "adaptive"), "enabled": True}
    return build_config(Settings, [], base=data)


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"`{key}` must be a mapping of settings, got {value!r}")
    return value


def check_model_keys(models: Sequence[ModelConfig]) -> None:
    """Fail BEFORE any work when a model's API key is missing: one error naming the variable(s)."""
    from patchjury.agent.models.backends import backend_class
    from patchjury.agent.models.providers import describe_keys

    problems: list[str] = []
    first = ""
    for cfg in models:
        check = getattr(backend_class(cfg.type), "missing_keys", None)  # backends that need credentials
        missing = check(cfg) if check is not None else []
        if missing:
            where = " (model.api_key_env)" if cfg.api_key_env else ""
            problems.append(f"{cfg.name} needs {describe_keys(missing)}{where}")
            first = first or describe_keys(missing).split()[0].rstrip(",")
    if problems:
        raise UsageError(
            "missing API key: "
            + "; ".join(dict.fromkeys(problems))
            + f". Export it (`export {first}=...`), set model.api_key_env, or point model.api_base at a local "
            "OpenAI-compatible server; `patchjury demo` needs no key"
        )
