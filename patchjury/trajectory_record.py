"""The trajectory record: one JSON file per agent trajectory, typed, with the one loader every reader uses.

Ground floor: imports nothing else of ours, so the writer (patchjury.agent.trajectory), the front door (report,
`patchjury show`, swebench run) and selection (verifier, judge) all read the same types.

    record = load_trajectory("runs/x/trajectories/calc-1/t000.json")
    record.status, record.totals.cost, record.steps[0].observations[0].text, record.messages[-1]

`messages` are the chat messages in the OpenAI wire format (system, user, assistant with `tool_calls`, tool),
exactly what the model was shown; `steps` hold one entry per model call (timings, cost, tokens, observations).
Records written before these types existed (same format tag, plain dicts) load unchanged; fields added later get
their defaults, and unknown fields are kept, so nothing is lost when a record is rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from patchjury.records import TestFile

FORMAT = "patchjury-trajectory/1"


class RecordFileError(OSError):
    """A record file cannot be read, or is not the record it should be (the message names the fix)."""


class Usage(BaseModel):
    """Tokens of one model call (or summed over calls)."""

    model_config = ConfigDict(extra="allow")

    prompt_tokens: int = 0
    """Prompt tokens, cached ones included."""
    completion_tokens: int = 0
    """Completion tokens, reasoning ones included."""
    cached_tokens: int = 0
    """Prompt tokens read from the provider's prompt cache (priced at its cache-read rate)."""
    cache_creation_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache (Anthropic prices them above the input rate)."""
    reasoning_tokens: int = 0
    """Completion tokens spent on reasoning (already inside completion_tokens)."""

    def add(self, other: Usage) -> None:
        """Add `other`'s token counts to these."""
        for name in Usage.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cached_share(self) -> float:
        """Share of prompt tokens read from cache."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


class ContextRecord(BaseModel):
    """What was sent for one step: the record keeps every message, only what is sent is trimmed
    (patchjury.agent.history)."""

    model_config = ConfigDict(extra="allow")

    window: int
    """The model's context window in tokens."""
    tokens: int
    """Prompt tokens of what was sent, as counted before sending."""
    bytes: int
    """Size of the messages sent (JSON)."""
    stable_bytes: int = 0
    """Leading bytes identical to the previous request of this trajectory (what a prefix cache can reuse)."""
    elided_before: int = 0
    """Observations before this message index were sent as one-line stubs (0: none)."""
    level: int = 0
    """0 everything whole, 1 older observations stubbed, 2 older turns shortened, 3 oldest turns left out."""
    dropped: int = 0
    """Oldest turns left out (level 3)."""
    retries: int = 0
    """Times the provider refused the prompt as too long before this request went through."""
    summary: str | None = None
    """A summary of the elided steps the model wrote at this step (sent with the issue from then on)."""


class ObservationRecord(BaseModel):
    """What one tool call gave back (as the model saw it) and its structured extras."""

    model_config = ConfigDict(extra="allow")

    call_id: str | None = None
    """The assistant's tool-call id (None for the note sent when a response had no call)."""
    name: str | None = None
    """Tool name as the model spelled it."""
    text: str = ""
    """The observation text sent to the model."""
    error: bool = False
    """The call failed (bad arguments, failed command...)."""
    format_error: bool = False
    """The call was malformed (no call, unknown tool, bad JSON, schema violation)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """The tool's structured extras (exit code, paths...); never shown to the model."""


class StepRecord(Usage):
    """One model call and the tool calls it made."""

    step: int
    """1-based step number."""
    query_s: float = 0.0
    """Seconds the model took."""
    cost: float = 0.0
    """Dollars of this call."""
    observations: list[ObservationRecord] = Field(default_factory=list)
    """One per tool call (or one format-error note); empty while the calls are being run."""
    act_s: float | None = None
    """Seconds the tools took (None until they ran)."""
    context: ContextRecord | None = None
    """What was sent (None: the whole history, by backends or versions that do not say)."""


class Totals(Usage):
    """Sums over the recorded steps."""

    steps: int = 0
    cost: float = 0.0
    """Dollars."""
    elapsed_s: float = 0.0
    """Active seconds (model + tools), summed over resumes."""

    @classmethod
    def of(cls, steps: list[StepRecord]) -> Totals:
        """The totals of `steps`."""
        out = cls(steps=len(steps))
        for s in steps:
            out.add(s)
            out.cost += s.cost
            out.elapsed_s += s.query_s + (s.act_s or 0.0)
        out.elapsed_s = round(out.elapsed_s, 3)
        return out


class Resume(BaseModel):
    """One restart of the trajectory; whatever was recorded past the checkpoint is kept here."""

    model_config = ConfigDict(extra="allow")

    at: float
    """Unix time of the restart."""
    from_step: int | None = None
    """Steps kept from before (None: the earlier attempt died before its first checkpoint)."""
    discarded_messages: list[dict[str, Any]] = Field(default_factory=list)
    discarded_steps: list[dict[str, Any]] = Field(default_factory=list)
    discarded_record: dict[str, Any] | None = None
    """The whole earlier record when the trajectory started afresh."""


class TrajectoryRecord(BaseModel):
    """`<run_dir>/trajectories/<instance>/tNNN.json`."""

    model_config = ConfigDict(extra="allow")

    format: str = FORMAT
    instance_id: str = ""
    traj_id: str = ""
    """`t000`, `t001`, ... (the candidate id)."""
    index: int = -1
    model: str = ""
    """The model's name (a label for scripted ones)."""
    temperature: float | None = None
    seed: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    """The agent configuration the trajectory ran with."""
    status: str = "running"
    """`running` until it ends, then submitted, step_limit, ... (patchjury.records.TrajectoryStatus)."""
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    patch: str = ""
    """The final patch (reproduction tests excluded)."""
    tests: list[TestFile] = Field(default_factory=list)
    reproduced: bool | None = None
    """Whether the tests exited 2 on the original code (None: not run there)."""
    error: str | None = None
    resumes: list[Resume] = Field(default_factory=list)

    def to_json(self) -> str:
        """Compact JSON (what the writer saves after every step)."""
        return self.model_dump_json(fallback=str)


def is_trajectory(data: Any) -> bool:
    """True when `data` (parsed JSON) claims to be a patchjury trajectory record."""
    return isinstance(data, dict) and data.get("format") == FORMAT


def parse_trajectory(data: Any, where: str = "trajectory") -> TrajectoryRecord:
    """A record from parsed JSON; RecordFileError when it is not a (valid) patchjury trajectory."""
    if not is_trajectory(data):
        raise RecordFileError(f"{where} is not a patchjury trajectory record (format {FORMAT})")
    try:
        return TrajectoryRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise RecordFileError(
            f"{where} is a damaged trajectory record ({loc}: {first['msg']}); rerun the trajectory or fix the field"
        ) from exc


def load_trajectory(path: str | Path) -> TrajectoryRecord:
    """Read a trajectory JSON (RecordFileError naming the problem: missing, not JSON, not a record)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise RecordFileError(f"cannot read trajectory {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordFileError(f"{path} is not valid JSON ({exc}): is it a patchjury trajectory?") from exc
    return parse_trajectory(data, str(path))
