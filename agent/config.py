"""Configuration of the agent: the loop (`AgentConfig`) and the model backends (`ModelConfig`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from patchjury.agent.models.backends import backend_class
from patchjury.tools.config import ToolsConfig


class ModelConfig(BaseModel):
    """One model backend, picked by `type` from agent.models.registry."""

    model_config = ConfigDict(extra="forbid")

    type: str = "litellm"
    """Backend (agent.models.backends): `litellm` (any provider litellm knows), `deterministic` (scripted
    policy), `replay` (our own trajectory record), `replay-bash` (another agent's recorded bash commands, run
    through our `run` tool)."""
    name: str = ""
    """Model name as litellm spells it (e.g. `openai/gpt-4o`, `anthropic/claude-sonnet-4-5`); a label otherwise."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible server (e.g. `http://127.0.0.1:8000/v1`); None = provider default."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself is never stored in configs)."""
    timeout: float = 120.0
    """Seconds before one request is abandoned (then retried)."""
    retries: int = Field(default=4, ge=0)
    """Retries on transient errors (rate limit, timeout, 5xx, connection), with exponential backoff."""
    backoff_s: float = Field(default=2.0, ge=0)
    """First backoff delay in seconds; doubles on every retry (with jitter), capped at 60 s."""
    text_tool_format: bool = False
    """Describe tools in the prompt and parse calls from ```tool fenced blocks (models without function calling)."""
    context_window: int | None = Field(default=None, ge=256)
    """Prompt tokens the model accepts; None = litellm's model info (`max_input_tokens`), else a conservative
    16,384 with one warning (set it for local servers: vLLM `--max-model-len`, Ollama `num_ctx`). Scripted
    backends: None = unlimited."""
    prompt_caching: Literal["auto", "on", "off"] = "auto"
    """`cache_control` breakpoints on the stable prefix: `auto` = for providers with explicit caching
    (Anthropic, also through Bedrock and Vertex AI); OpenAI-style automatic caching needs no marks."""
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    """Reasoning effort of reasoning models (dropped for models that take none)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments passed verbatim to `litellm.completion` (e.g. `max_tokens`)."""
    script: list[dict[str, Any]] | None = None
    """Deterministic model: inline list of steps ({tool, args} / {content} / {tool_calls}), Jinja-templated."""
    script_path: str | None = None
    """Deterministic model: YAML file holding the list of steps (or a mapping with a `steps` key)."""
    latency_s: float = Field(default=0.0, ge=0)
    """Deterministic/replay model: seconds to sleep per query (simulates an API for benchmarks and demos)."""
    replay_path: str | None = None
    """Replay model: the trajectory JSON whose assistant messages are replayed in order."""

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        check = getattr(backend_class(self.type), "check_config", None)
        problem = check(self) if check is not None else None
        if problem:
            raise ValueError(problem)
        return self

    @property
    def label(self) -> str:
        """Human name of the model (used as `model_name_or_path` of candidates)."""
        return self.name or self.type


class HistoryConfig(BaseModel):
    """How the conversation is fitted into the model's context window (patchjury.agent.history). The trajectory
    record keeps everything; only what is sent is trimmed."""

    model_config = ConfigDict(extra="forbid")

    trigger: float = Field(default=0.8, gt=0, le=1)
    """Share of the context window a request may fill; above it older observations are elided (the rest is left
    for the answer)."""
    target: float = Field(default=0.5, gt=0, le=1)
    """When older observations have to be elided, elide enough for the request to fill at most this share of the
    window if possible, so the next steps grow without eliding again (a stable prefix for prompt caches)."""
    keep_last: int = Field(default=4, ge=1)
    """Observations kept in full (fewer when they alone do not fit, or to get under `target`)."""
    summarize: bool = False
    """Ask the model for a summary of the steps whose observations are elided (one extra call each time)."""
    retries: int = Field(default=3, ge=0)
    """Harder condensations tried after the provider refuses a prompt as too long, before `context_exhausted`."""
    shrink: float = Field(default=0.7, gt=0, lt=1)
    """Each retry's token budget as a share of the refused prompt's size."""


class AgentConfig(BaseModel):
    """How trajectories run: limits, parallelism, sampling, tools and prompts."""

    model_config = ConfigDict(extra="forbid")

    n_trajectories: int = Field(default=4, ge=1)
    """Trajectories (independent samples) per task."""
    workers: int = Field(default=4, ge=1)
    """Trajectories running at the same time (each with its own Env)."""
    step_limit: int = Field(default=50, ge=1)
    """Model calls per trajectory before it stops with status `step_limit`."""
    cost_limit: float = Field(default=3.0, ge=0)
    """Dollars per trajectory before it stops with status `cost_limit`; 0 = no limit."""
    token_limit: int = Field(default=0, ge=0)
    """Prompt+completion tokens per trajectory before status `token_limit`; 0 = no limit."""
    time_limit_s: float = Field(default=3600.0, ge=0)
    """Active seconds per trajectory (summed over resumes) before status `time_limit`; 0 = no limit."""
    max_format_errors: int = Field(default=3, ge=1)
    """Consecutive malformed responses (no call, unknown tool, bad JSON) before status `format_error`."""
    temperature: float = Field(default=0.8, ge=0)
    """Sampling temperature of every trajectory unless `temperatures` is given."""
    temperatures: list[float] = Field(default_factory=list)
    """Per-trajectory temperatures, cycled (trajectory i uses temperatures[i % len]) so samples differ."""
    top_p: float | None = None
    """Nucleus sampling; None = provider default."""
    seed: int | None = None
    """Base sampling seed; trajectory i gets seed + i (when the provider supports seeds)."""
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    """Fitting long trajectories into the context window."""
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    """The tools: which ones (`names`; None = all) and their limits (`output_limit`, timeouts, ...). A plain
    list of names (`agent.tools: [view, edit, submit]`) is read as `names`."""
    prompt: str = "default"
    """Prompt template: a name in agent/prompts/ (without .yaml) or a path to a YAML file."""
    show_hints: bool = False
    """Show the task's `hints_text` to the model (off for SWE-bench comparability)."""
    autosubmit: bool = True
    """On a limit or format error, still record the current diff and tests as the trajectory's outputs."""
    test_timeout_s: float = Field(default=120.0, gt=0)
    """Seconds for running a reproduction test on the original code when the trajectory ends."""

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Older spellings: `tools: [names]`, and `output_limit` (now `tools.output_limit`, the one limit)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        tools = data.get("tools")
        if tools is None or isinstance(tools, list):
            data["tools"] = {"names": tools}
        if "output_limit" in data:
            limit, tools = data.pop("output_limit"), data["tools"]
            if isinstance(tools, ToolsConfig):
                tools = tools.model_dump(exclude_unset=True)
            data["tools"] = {"output_limit": limit, **tools} if isinstance(tools, dict) else tools
        return data

    def temperature_for(self, index: int) -> float:
        """Temperature of trajectory `index`."""
        if self.temperatures:
            return self.temperatures[index % len(self.temperatures)]
        return self.temperature

    def seed_for(self, index: int) -> int | None:
        """Sampling seed of trajectory `index` (None when no base seed)."""
        return None if self.seed is None else self.seed + index
