"""What `patchjury swebench run` leaves: the per-instance result (`instances/<id>/result.json`), the run totals and
summary (`summary.json`), and the per-instance cost/time table (`summary.md`).

`InstanceResult.load` is the one reader of result.json (files written before it existed read the same: the keys
did not change); fields that do not apply are left out of the file, as they always were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RESULT = "result.json"

InstanceStatus = Literal["done", "error", "missing"]


class InstanceResult(BaseModel):
    """One instance of a `swebench run`: what was chosen, what it cost, or where it failed."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    status: InstanceStatus = "error"
    """`done` (a decision was made), `error` (see `stage` and `error`), `missing` (no result on disk yet)."""
    stage: str | None = None
    """Where an error happened: `image` (getting the instance image) or `solve` (trajectories, jury)."""
    error: str | None = None
    """`ExceptionType: message` of the failure."""
    started_at: float | None = None
    """Unix time the instance started."""
    finished_at: float | None = None
    """Unix time the result was written."""
    image: str | None = None
    """The instance image's tag."""
    image_seconds: float = 0.0
    """Seconds spent getting the image (near 0 when cached)."""
    winner: str | None = None
    """candidate_id of the chosen patch."""
    selector: str | None = None
    """The jury's rule."""
    model_patch: str = ""
    """The chosen patch (the prediction)."""
    own_test: str | None = None
    """Whether the winner passes its own reproduction test: pass, fail, no_test, dropped, not_run."""
    n_trajectories: int = 0
    n_candidates: int = 0
    """Trajectories with a non-empty patch."""
    statuses: list[str] = Field(default_factory=list)
    """How the trajectories ended (distinct values)."""
    files: list[str] = Field(default_factory=list)
    """Files the chosen patch touches."""
    lines_changed: int = 0
    cost: float = 0.0
    """Dollars spent on model calls."""
    tokens: int = 0
    """Prompt + completion tokens."""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens read from the providers' caches (priced at their cache-read rate)."""
    container_minutes: float = 0.0
    """Summed lifetime of the instance's containers."""
    seconds: float = 0.0
    """Wall seconds of the instance."""
    eval: str | None = None
    """Grading status with `--eval` (resolved, unresolved, patch_failed, empty_patch, error)."""
    nodes: list[str] | None = None
    """With `--ray`: the cluster nodes (id prefixes) that ran its trajectories."""
    adaptive: dict[str, Any] | None = None
    """With `--adaptive`: budget, trajectories used and saved, the waves and why sampling stopped."""
    warnings: list[str] = Field(default_factory=list)
    """What went wrong without failing the instance (with `--ray --image-registry`: a registry that refused
    the push of an image a node built; that node used its image, other nodes build their own)."""

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def load(cls, inst_dir: Path) -> InstanceResult | None:
        """The result in `inst_dir`, or None when there is none or it is unreadable (the instance runs again)."""
        try:
            return cls.model_validate_json((inst_dir / RESULT).read_text())
        except (OSError, ValueError, ValidationError):
            return None

    def save(self, inst_dir: Path) -> None:
        """Write result.json atomically (a crash never leaves half a file)."""
        write_json(inst_dir / RESULT, self.model_dump(mode="json", exclude_none=True))


class RunTotals(BaseModel):
    """Run-level sums and counts over the instances of a `swebench run`."""

    model_config = ConfigDict(extra="forbid")

    instances: int = 0
    done: int = 0
    errors: int = 0
    with_patch: int = 0
    own_test_pass: int = 0
    """Instances whose chosen patch passes its own reproduction test."""
    cost: float = 0.0
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    container_minutes: float = 0.0
    seconds: float = 0.0
    image_seconds: float = 0.0
    resolved: int | None = None
    """With grading: instances resolved."""
    graded: int | None = None
    """With grading: instances graded."""

    @property
    def cached_share(self) -> float:
        """Share of prompt tokens read from cache."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def cost_per_resolved(self) -> float | None:
        """Dollars per resolved instance (None before grading or with none resolved)."""
        return self.cost / self.resolved if self.resolved else None


class RunSummary(BaseModel):
    """`summary.json` of a `swebench run`."""

    model_config = ConfigDict(extra="forbid")

    instances: list[InstanceResult]
    totals: RunTotals
    wall_seconds: float = 0.0
    skipped_existing: int = 0
    """Instances finished by an earlier run and not redone."""
    predictions: str = ""
    """Path of preds.jsonl."""
    eval: dict[str, Any] | None = None
    """With `--eval`: the grading summary (official keys)."""

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json", exclude_none=True))


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a temporary file, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def totals(results: list[InstanceResult]) -> RunTotals:
    """Run-level sums and counts over per-instance results."""
    graded = [r for r in results if r.eval is not None]
    return RunTotals(
        instances=len(results),
        done=sum(1 for r in results if r.status == "done"),
        errors=sum(1 for r in results if r.status == "error"),
        with_patch=sum(1 for r in results if r.model_patch.strip()),
        own_test_pass=sum(1 for r in results if r.own_test == "pass"),
        cost=round(sum(r.cost for r in results), 4),
        tokens=sum(r.tokens for r in results),
        prompt_tokens=sum(r.prompt_tokens for r in results),
        cached_tokens=sum(r.cached_tokens for r in results),
        container_minutes=round(sum(r.container_minutes for r in results), 4),
        seconds=round(sum(r.seconds for r in results), 4),
        image_seconds=round(sum(r.image_seconds for r in results), 4),
        resolved=sum(1 for r in graded if r.eval == "resolved") if graded else None,
        graded=len(graded) if graded else None,
    )


def adaptive_line(results: list[InstanceResult]) -> str:
    """With `--adaptive`: one line of the trajectories sampled against the budget over the run ('' without)."""
    rows = [r.adaptive for r in results if r.adaptive]
    if not rows:
        return ""
    used, budget = sum(int(a["used"]) for a in rows), sum(int(a["budget"]) for a in rows)
    early = sum(1 for a in rows if str(a.get("stopped", "")).startswith("the jury was confident"))
    return (
        f"adaptive sampling: sampled {used} of {budget} trajectories over {len(rows)} instance(s), saved "
        f"{budget - used} ({_share(budget - used, budget)}); {early} instance(s) stopped early because the jury "
        "was confident"
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: RunSummary) -> str:
    """Per-instance and total cost/time table."""
    t = summary.totals
    graded = t.graded is not None
    lines = [
        "# patchjury swebench run",
        "",
        f"{t.done}/{t.instances} instances done ({t.errors} errors, {summary.skipped_existing} "
        f"reused from an earlier run); {t.with_patch} with a patch, {t.own_test_pass} whose chosen patch "
        "passes its own reproduction test"
        + (f"; **resolved {t.resolved}/{t.graded}** graded" if graded else "")
        + ".",
        "",
        f"Total: ${t.cost:.4f}, {t.tokens:,} tokens ({t.cached_share:.0%} of prompt tokens cached), "
        f"{t.container_minutes:.1f} container-minutes, {t.seconds:.0f} s of instance time "
        f"({summary.wall_seconds:.0f} s wall)"
        + (f"; ${t.cost_per_resolved:.4f} per resolved instance" if t.cost_per_resolved is not None else "")
        + (f"; ${t.cost / t.instances:.4f} per instance" if t.instances else "")
        + ".",
        "",
        "| instance | status | winner | own test | eval | cost ($) | tokens (cached) | container-min | image s "
        "| total s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.instances:
        status: str = r.status
        if status == "error":
            status = f"error ({_cell(r.stage or '')}: {_cell((r.error or '')[:80])})"
        lines.append(
            f"| {r.instance_id} | {status} | {r.winner or '-'} | {r.own_test or '-'} | {r.eval or '-'} "
            f"| {r.cost:.4f} | {r.tokens:,} ({_share(r.cached_tokens, r.prompt_tokens)}) "
            f"| {r.container_minutes:.2f} | {r.image_seconds:.0f} | {r.seconds:.0f} |"
        )
    lines.append(
        f"| **total** | {t.done} done | | {t.own_test_pass} pass | {t.resolved if graded else '-'} "
        f"| {t.cost:.4f} | {t.tokens:,} ({_share(t.cached_tokens, t.prompt_tokens)}) | {t.container_minutes:.2f} "
        f"| {t.image_seconds:.0f} | {t.seconds:.0f} |"
    )
    adaptive = adaptive_line(summary.instances)
    if adaptive:
        lines += ["", "## Adaptive sampling", "", adaptive[0].upper() + adaptive[1:] + ".", ""]
        lines += ["| instance | sampled | saved | why sampling stopped |", "|---|---|---|---|"]
        lines += [
            f"| {r.instance_id} | {r.adaptive['used']} of {r.adaptive['budget']} | {r.adaptive['saved']} "
            f"| {_cell(r.adaptive.get('stopped') or '-')} |"
            for r in summary.instances
            if r.adaptive
        ]
    warned = [r for r in summary.instances if r.warnings]
    if warned:
        lines += ["", "## Warnings", "", "| instance | warning |", "|---|---|"]
        lines += [f"| {r.instance_id} | {_cell(w)} |" for r in warned for w in r.warnings]
    return "\n".join(lines) + "\n"
