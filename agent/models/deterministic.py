"""A scripted policy: the same list of tool calls every time, Jinja-templated per trajectory.

A script is a list of steps; step k answers the k-th model query of a trajectory:

    - {tool: view, args: {path: calc.py}}                    # one call
    - {content: "thinking...", tool: run, args: {command: ls}}
    - {calls: [{tool: view, args: {...}}, {tool: search, args: {...}}]}
    - {tool: edit, raw_arguments: "{not json"}               # a malformed call (for tests)
    - {content: "no call at all"}                           # a format error
    - {fail: "simulated outage"}                            # raises ModelError
    - {cost: 0.5, tool: ...}                                # pretend the call cost dollars

Every string is rendered with Jinja2 (StrictUndefined) with `index` (trajectory index) and `step`,
so N trajectories can differ (e.g. `{% if index % 2 %}...{% endif %}`). When the script is exhausted
the model calls `submit`. The position in the script is derived from the messages (number of earlier
assistant messages), so a resumed trajectory continues where it stopped.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import jinja2
import yaml

from patchjury.agent.config import ModelConfig
from patchjury.agent.errors import AgentConfigError, ModelError
from patchjury.agent.models.base import OfflineModel, Sampling, response, rough_tokens, tool_call
from patchjury.agent.protocol import ModelResponse

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def load_script(config: ModelConfig) -> list[dict[str, Any]]:
    """The steps of a deterministic model config (inline or from `script_path`)."""
    if config.script is not None:
        return list(config.script)
    path = Path(config.script_path or "")
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise AgentConfigError(f"cannot read model.script_path {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise AgentConfigError(f"model.script_path {path} is not valid YAML: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("steps")
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise AgentConfigError(f"{path} must hold a list of steps (or a mapping with a `steps` list)")
    return data


@functools.lru_cache(maxsize=4096)
def _template(text: str) -> jinja2.Template:
    return _ENV.from_string(text)


def _render(value: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if "{" not in value:
            return value
        try:
            return _template(value).render(**ctx)
        except jinja2.TemplateError as exc:
            raise AgentConfigError(f"deterministic script template {value[:60]!r}: {exc}") from exc
    if isinstance(value, list):
        return [_render(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, ctx) for k, v in value.items()}
    return value


class DeterministicModel(OfflineModel):
    """Model protocol over a fixed script (tests, demos, benchmarks)."""

    @staticmethod
    def check_config(config: ModelConfig) -> str | None:
        if config.script is None and not config.script_path:
            return "a deterministic model needs `script` (list of steps) or `script_path` (YAML file)"
        return None

    @staticmethod
    def from_spec(rest: str) -> dict[str, Any]:
        """`--model deterministic:<script.yaml>`."""
        return {"name": f"deterministic:{rest}", "script_path": rest}

    def __init__(self, config: ModelConfig, sampling: Sampling | None = None) -> None:
        self.config = config
        self.name = config.name or "deterministic"
        self.sampling = sampling or Sampling()
        self.steps = load_script(config)

    def query(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelResponse:
        if self.config.latency_s:
            time.sleep(self.config.latency_s)
        step = sum(1 for m in messages if m.get("role") == "assistant")
        if step >= len(self.steps):
            calls = [tool_call(f"det-{step}-0", "submit", {})]
            return response("The script is done: submitting.", calls, 0.0, rough_tokens(messages), 10)
        spec = _render(self.steps[step], {"index": self.sampling.index, "step": step})
        if "fail" in spec:
            raise ModelError(f"{self.name}: scripted failure at step {step}: {spec['fail']}")
        items = spec.get("calls") or ([spec] if "tool" in spec else [])
        calls = []
        for k, item in enumerate(items):
            args = item["raw_arguments"] if "raw_arguments" in item else item.get("args", {})
            calls.append(tool_call(f"det-{step}-{k}", item["tool"], args))
        completion = len(str(spec.get("content", ""))) // 4 + 10
        return response(
            spec.get("content", ""), calls, float(spec.get("cost", 0.0)), rough_tokens(messages), completion
        )
