"""Render the prompts of agent/prompts/*.yaml (Jinja2, StrictUndefined) for a Task.

The instance template receives ONLY a `patchjury.records.Task` (which cannot carry gold fields:
it forbids extra keys), so the model never sees a benchmark's patch, test patch or test lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from patchjury.agent.errors import PromptError
from patchjury.records import Task

PROMPTS_DIR = Path(__file__).parent / "prompts"
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
REQUIRED = ("system", "instance", "format_error")
OPTIONAL = {
    "summarize": (
        "You condense the history of a software engineer's work on an issue. Write a short factual summary "
        "of the steps below (and of the previous summary, if any): files and functions looked at and what "
        "they showed, commands run and their results, changes made, tests written and their exit codes, and "
        "what is still open. Keep paths, names and numbers exact. No advice, no preamble."
    )
}
"""Templates a prompt file may leave out (the default above is used)."""


@dataclass(frozen=True)
class Prompts:
    """The compiled templates of one prompt file."""

    path: Path
    templates: dict[str, jinja2.Template]

    def render(self, name: str, **ctx: Any) -> str:
        try:
            return self.templates[name].render(**ctx).strip()
        except jinja2.TemplateError as exc:
            raise PromptError(f"prompt {self.path} template `{name}`: {exc}") from exc


def load_prompts(name_or_path: str = "default") -> Prompts:
    """Load `agent/prompts/<name>.yaml` or a YAML file path holding system/instance/format_error."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROMPTS_DIR / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml")))
        raise PromptError(f"cannot read prompt {path} ({exc.strerror}); known prompts: {known}") from exc
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt file {path} is not valid YAML: {exc}") from exc
    missing = [k for k in REQUIRED if not isinstance((data or {}).get(k), str)]
    if missing:
        raise PromptError(f"prompt file {path} lacks template(s) {missing}: add them as YAML strings")
    try:
        templates = {k: _ENV.from_string(data[k]) for k in REQUIRED}
        templates.update({k: _ENV.from_string(data.get(k) or text) for k, text in OPTIONAL.items()})
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(f"prompt file {path}: Jinja syntax error line {exc.lineno}: {exc.message}") from exc
    return Prompts(path, templates)


def initial_messages(
    prompts: Prompts, task: Task, tools: list[dict[str, Any]], workdir: str, show_hints: bool = False
) -> list[dict[str, Any]]:
    """System + first user message for `task`. `tools` are OpenAI tool schemas."""
    if not isinstance(task, Task):
        raise PromptError(f"prompts render a patchjury.records.Task, got {type(task).__name__}")
    described = [
        {"name": t["function"]["name"], "description": t["function"].get("description", "").split("\n")[0]}
        for t in tools
    ]
    system = prompts.render("system", tools=described, workdir=workdir)
    hints = task.hints_text if show_hints else ""
    user = prompts.render("instance", task=task, hints=hints, workdir=workdir)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
