"""LLM judge (R2E-Gym format): issue + trajectory + final patch -> YES/NO; score = P(YES) from top logprobs.

score = e^lY / (e^lY + e^lN), where lY / lN are the log-probabilities of YES / NO (case and surrounding whitespace
ignored; variants are summed) at the first answer token whose top alternatives contain either. Works with any
OpenAI-compatible endpoint through litellm (`openai/<model>` + `api_base`), e.g. a vLLM-served fine-tuned judge.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from patchjury.records import Candidate, Task
from patchjury.selection.errors import VerifierError
from patchjury.selection.verifier.config import VerifierConfig
from patchjury.selection.verifier.trajectory import steps_for_prompt, trajectory_digest

if TYPE_CHECKING:
    from patchjury.selection.static_check import StaticChecker

_MAX_STEP_CHARS = 3000


@lru_cache(maxsize=1)
def _templates() -> tuple[jinja2.Template, jinja2.Template]:
    text = (resources.files("patchjury.selection.verifier") / "prompts" / "judge.yaml").read_text()
    data = yaml.safe_load(text)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(data["system"]), env.from_string(data["user"])


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"\n... [{len(text) - limit} characters omitted] ...\n"
    keep = max(limit - len(marker), 0)
    return text[: keep // 2] + marker + text[len(text) - (keep - keep // 2) :]


def _step_text(step: dict[str, Any]) -> tuple[str, str]:
    role = str(step.get("role") or "assistant")
    parts = []
    for key in ("thought", "content", "action", "response"):
        val = step.get(key)
        if isinstance(val, str) and val.strip():
            parts.append(val.strip())
        elif isinstance(val, list):  # content parts
            parts.extend(str(p.get("text", "")) for p in val if isinstance(p, dict))
    for call in step.get("tool_calls") or step.get("calls") or []:
        if isinstance(call, dict):
            fn = call.get("function", call)
            parts.append(f"<call {fn.get('name', '?')}> {fn.get('arguments', '')}")
    obs = step.get("observation") or step.get("observations")
    if obs:
        parts.append("<observation>\n" + (obs if isinstance(obs, str) else json.dumps(obs, default=str)))
    return role, _clip("\n".join(parts), _MAX_STEP_CHARS)


def render_steps(
    steps: list[dict[str, Any]], raw_messages: list[dict[str, Any]] | None, max_steps: int
) -> tuple[list[dict[str, str]], int]:
    """The last `max_steps` steps as {role, text}, and how many were omitted."""
    items = raw_messages if raw_messages else steps
    items = [m for m in items if not (isinstance(m, dict) and m.get("role") == "system")]
    omitted = max(len(items) - max_steps, 0)
    steps = []
    for item in items[omitted:]:
        role, text = _step_text(item)
        steps.append({"role": role, "text": text})
    return steps, omitted


def judge_messages(
    task: Task, candidate: Candidate, config: VerifierConfig | None = None
) -> list[dict[str, str]]:
    """System + user messages asking whether `candidate` resolves `task` (R2E-Gym verifier format)."""
    config = config or VerifierConfig(type="judge")
    digest = trajectory_digest(candidate)
    recorded, messages = steps_for_prompt(candidate)
    steps, omitted = render_steps(recorded, messages, config.max_steps)
    system_t, user_t = _templates()
    issue, patch = task.problem_statement.strip(), candidate.model_patch.strip() or "(empty patch)"
    summary = digest.lines()

    def render() -> str:
        return user_t.render(
            issue=issue,
            steps=steps,
            n_steps=len(steps) + omitted,
            omitted=omitted,
            patch=patch,
            digest=summary,
        )

    user = render()
    while steps and len(user) > config.max_chars:
        steps.pop(0)
        omitted += 1
        user = render()
    return [
        {"role": "system", "content": system_t.render().strip()},
        {"role": "user", "content": _clip(user, config.max_chars)},
    ]


def _tok(entry: Any) -> Any:
    return entry.get("token") if isinstance(entry, dict) else getattr(entry, "token", None)


def _variants(top: list[Any]) -> tuple[float | None, float | None]:
    yes: list[float] = []
    no: list[float] = []
    for alt in top:
        tok = alt.get("token") if isinstance(alt, dict) else getattr(alt, "token", None)
        lp = alt.get("logprob") if isinstance(alt, dict) else getattr(alt, "logprob", None)
        if tok is None or lp is None:
            continue
        word = str(tok).strip().upper()
        if word == "YES":
            yes.append(float(lp))
        elif word == "NO":
            no.append(float(lp))

    def lse(v: list[float]) -> float | None:
        if not v:
            return None
        m = max(v)
        return m + math.log(sum(math.exp(x - m) for x in v))

    return lse(yes), lse(no)


def p_yes(response: Any) -> float:
    """P(YES) = e^lY / (e^lY + e^lN) from a chat completion's top logprobs (see module docstring)."""
    choice = response["choices"][0] if isinstance(response, dict) else response.choices[0]
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else getattr(choice, "logprobs", None)
    content = (
        (logprobs.get("content") if isinstance(logprobs, dict) else getattr(logprobs, "content", None))
        if logprobs
        else None
    )
    if not content:
        raise VerifierError(
            "the judge endpoint returned no logprobs; serve the model with logprobs enabled "
            "(vLLM does by default; OpenAI needs logprobs=true, top_logprobs>=2)"
        )
    for tok in content:
        top = tok.get("top_logprobs") if isinstance(tok, dict) else getattr(tok, "top_logprobs", None)
        alts = list(top or [])
        if not any(_tok(a) == _tok(tok) for a in alts):
            alts.append(tok)  # the sampled token itself, when the server left it out of top_logprobs
        ly, ln = _variants(alts)
        if ly is None and ln is None:
            continue
        if ly is None:
            return 0.0
        if ln is None:
            return 1.0
        m = max(ly, ln)
        return math.exp(ly - m) / (math.exp(ly - m) + math.exp(ln - m))
    raise VerifierError(
        "neither YES nor NO is among the judge's top logprobs; check the prompt/model, or raise top_logprobs"
    )


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


def from_config(config: VerifierConfig, static: StaticChecker | None = None) -> LLMJudge:
    """Backend `judge` (verifier.config.BACKENDS); the judge reads no static checks."""
    return LLMJudge(config)


class LLMJudge:
    """Execution-free verifier backed by an LLM answering YES/NO (implements selection.protocol.Verifier)."""

    name = "judge"

    def __init__(self, config: VerifierConfig) -> None:
        self.config = config

    def score(self, task: Task, candidate: Candidate, pool: Sequence[Candidate] = ()) -> float:
        if not candidate.model_patch.strip():
            return 0.0
        cfg = self.config
        litellm = _litellm()
        import openai

        try:
            response = litellm.completion(
                model=cfg.judge_model,
                api_base=cfg.api_base,
                api_key=os.environ.get(cfg.api_key_env) or "not-needed",
                messages=judge_messages(task, candidate, cfg),
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=cfg.top_logprobs,
                timeout=cfg.timeout_s,
                num_retries=cfg.num_retries,
            )
        except (litellm.exceptions.APIConnectionError, litellm.exceptions.Timeout) as exc:
            raise VerifierError(
                f"cannot reach judge endpoint {cfg.api_base}: {exc}; is the server running?"
            ) from exc
        except openai.OpenAIError as exc:
            raise VerifierError(f"judge endpoint {cfg.api_base or cfg.judge_model} failed: {exc}") from exc
        return p_yes(response)
