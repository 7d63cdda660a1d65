"""The SWE-bench eval runner: grade predictions in fresh containers, in parallel, resumably.

For each prediction: a container from the instance image; the model patch applied (git apply, --3way,
patch --fuzz); test files reset and test_patch applied; the test command run; the log parsed and
FAIL_TO_PASS / PASS_TO_PASS graded. Writes <out>/<instance_id>/{report.json,test_output.txt,patch.diff}
(error.json instead when the instance could not be graded: missing recipe, build failure...) and
<out>/summary.json with the official keys.

With a run id (`--run-id`), files are named as the official harness names them, so both can sit side by side
in one directory: <out>/logs/run_evaluation/<run_id>/<model>/<instance_id>/{report.json,test_output.txt,
patch.diff} and the run report <out>/<model>.<run_id>.json (<model> = model_name_or_path with / -> __).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from docker.errors import DockerException
from pydantic import BaseModel, ConfigDict, Field

from patchjury.envs.errors import EnvError
from patchjury.envs.swebench.errors import DatasetError
from patchjury.envs.swebench.instances import SWEInstance, load_instances, select_instances, unknown_ids_error
from patchjury.envs.swebench.predictions import Prediction, load_predictions
from patchjury.envs.swebench.runner import Cancellation, grade_in_container
from patchjury.envs.swebench.source import InstanceSource

REPORT = "report.json"
ERROR = "error.json"
RUN_EVALUATION_LOG_DIR = Path("logs") / "run_evaluation"


class EvalConfig(InstanceSource):
    """Everything `patchjury swebench eval` needs."""

    model_config = ConfigDict(extra="forbid")

    predictions: Path
    """Predictions file (.jsonl, .json list or {instance_id: prediction}) with instance_id, model_patch and
    model_name_or_path."""
    workers: int = Field(default=1, ge=1)
    """Instances graded in parallel."""
    out: Path = Path("swebench_eval")
    """Output directory."""
    redo: bool = False
    """Grade again instances that already have a report.json."""
    test_timeout: float | None = Field(default=None, gt=0)
    """Seconds the test command may run (default: the recipe's test_timeout)."""
    memory: str = "4g"
    """Memory limit of each grading container."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU limit of each grading container."""
    run_id: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    """Official-harness layout: logs/run_evaluation/<run_id>/<model>/<instance_id>/ and <model>.<run_id>.json
    under `out` (None: <out>/<instance_id>/ and <out>/summary.json)."""

    def instance_dir(self, instance_id: str, pred: Prediction | None = None) -> Path:
        """Where one prediction's report, test output and patch go."""
        if self.run_id is None:
            return self.out / instance_id
        model = model_dir_name(pred.model_name_or_path if pred is not None else "")
        return self.out / RUN_EVALUATION_LOG_DIR / self.run_id / model / instance_id

    def summary_path(self, preds: dict[str, Prediction]) -> Path:
        """summary.json, or the official `<model>.<run_id>.json` (model of the first prediction)."""
        if self.run_id is None:
            return self.out / "summary.json"
        first = next(iter(preds.values()), None)
        return self.out / f"{model_dir_name(first.model_name_or_path if first else '')}.{self.run_id}.json"


def model_dir_name(model_name_or_path: str) -> str:
    """The official harness's directory name for a model: `/` becomes `__`."""
    return (model_name_or_path or "None").replace("/", "__")


class Outcome(BaseModel):
    """What happened to one prediction (for the progress line and the summary)."""

    instance_id: str
    """The instance."""
    status: str
    """resolved | unresolved | patch_failed | empty_patch | error | skipped."""
    reason: str = ""
    """Why (errors, patch failures, unresolved tests)."""


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def read_report(inst_dir: Path, instance_id: str) -> dict[str, Any] | None:
    """The inner report dict in an instance directory, or None when not graded yet (or unreadable)."""
    path = inst_dir / REPORT
    try:
        data = json.loads(path.read_text())
        return dict(data[instance_id])
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return None


def grade_one(
    instance: SWEInstance, pred: Prediction, config: EvalConfig, cancel: Cancellation | None = None
) -> Outcome:
    """Grade one prediction; writes report.json (or error.json). Expected failures never raise; after a
    cancellation nothing is written (the instance is graded again on resume)."""
    inst_dir = config.instance_dir(instance.instance_id, pred)
    inst_dir.mkdir(parents=True, exist_ok=True)
    (inst_dir / ERROR).unlink(missing_ok=True)
    patch = pred.model_patch or ""
    (inst_dir / "patch.diff").write_text(patch)
    try:
        report = grade_in_container(instance, pred, config, inst_dir, cancel)
    except (EnvError, OSError, DockerException) as exc:  # recorded per instance; the run goes on
        if cancel is not None and cancel.is_set():
            return Outcome(instance_id=instance.instance_id, status="error", reason="interrupted")
        stage = getattr(exc, "stage", "") or type(exc).__name__
        (inst_dir / REPORT).unlink(
            missing_ok=True
        )  # --redo: a stale report must not outlive a failed regrade
        _write_json(
            inst_dir / ERROR,
            {"instance_id": instance.instance_id, "stage": stage, "reason": str(exc), "at": time.time()},
        )
        return Outcome(instance_id=instance.instance_id, status="error", reason=str(exc))
    if cancel is not None and cancel.is_set():
        return Outcome(instance_id=instance.instance_id, status="error", reason="interrupted")
    _write_json(inst_dir / REPORT, {instance.instance_id: report})
    return Outcome(instance_id=instance.instance_id, status=report["status"], reason=report.get("reason", ""))


def _selected(config: EvalConfig) -> tuple[list[SWEInstance], dict[str, Prediction]]:
    all_instances = load_instances(config.instances)
    preds = load_predictions(config.predictions)
    known = [i.instance_id for i in all_instances]
    unknown = sorted(set(preds) - set(known))
    if unknown:
        raise unknown_ids_error(unknown, known, what=f"instances in {config.instances}")
    selected = select_instances(all_instances, config.instance_ids, config.slice, config.filter)
    return selected, preds


def summarize(
    config: EvalConfig, selected: list[SWEInstance], preds: dict[str, Prediction]
) -> dict[str, Any]:
    """The summary (official keys + patch_failed_ids and error_reasons), built from the files on disk."""
    ids = [i.instance_id for i in selected]
    submitted = [i for i in ids if i in preds]
    resolved: list[str] = []
    unresolved: list[str] = []
    empty: list[str] = []
    errors: list[str] = []
    patch_failed: list[str] = []
    reasons: dict[str, str] = {}
    for iid in submitted:
        if not (preds[iid].model_patch or "").strip():
            empty.append(iid)
            continue
        inst_dir = config.instance_dir(iid, preds[iid])
        report = read_report(inst_dir, iid)
        if report is None:
            errors.append(iid)
            err = inst_dir / ERROR
            try:
                reasons[iid] = json.loads(err.read_text())["reason"]
            except (OSError, json.JSONDecodeError, KeyError):
                reasons[iid] = "not graded (interrupted?)"
            continue
        (resolved if report.get("resolved") else unresolved).append(iid)
        if report.get("status") == "patch_failed":
            patch_failed.append(iid)
    completed = resolved + unresolved
    return {
        "total_instances": len(ids),
        "submitted_instances": len(submitted),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(unresolved),
        "empty_patch_instances": len(empty),
        "error_instances": len(errors),
        "completed_ids": sorted(completed),
        "incomplete_ids": sorted(set(ids) - set(completed) - set(empty)),
        "empty_patch_ids": sorted(empty),
        "submitted_ids": sorted(submitted),
        "resolved_ids": sorted(resolved),
        "unresolved_ids": sorted(unresolved),
        "error_ids": sorted(errors),
        "patch_failed_ids": sorted(patch_failed),
        "error_reasons": reasons,
        "schema_version": 2,
    }


def evaluate(
    config: EvalConfig,
    progress: bool = True,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> dict[str, Any]:
    """Grade every selected prediction; returns (and writes to <out>/summary.json) the summary."""
    selected, preds = _selected(config)
    if not selected:
        raise DatasetError("the selection is empty; check --instance-ids / --slice / --filter")
    config.out.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[SWEInstance, Prediction]] = []
    for inst in selected:
        pred = preds.get(inst.instance_id)
        if pred is None:
            continue
        if not config.redo and read_report(config.instance_dir(inst.instance_id, pred), inst.instance_id):
            if on_outcome:
                on_outcome(Outcome(instance_id=inst.instance_id, status="skipped", reason="already graded"))
            continue
        todo.append((inst, pred))
    if any((p.model_patch or "").strip() for _, p in todo):
        from patchjury.envs.sweep import docker_client

        docker_client()  # Docker not running -> one EngineUnavailableError line before any work
    if todo:
        _run_pool(config, todo, progress, on_outcome)
    summary = summarize(config, selected, preds)
    _write_json(config.summary_path(preds), summary)
    return summary


def _run_pool(
    config: EvalConfig,
    todo: list[tuple[SWEInstance, Prediction]],
    progress: bool,
    on_outcome: Callable[[Outcome], None] | None,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    cancel = Cancellation()
    counts: dict[str, int] = {}

    def work(inst: SWEInstance, pred: Prediction) -> Outcome:
        if cancel.is_set():
            return Outcome(instance_id=inst.instance_id, status="error", reason="interrupted")
        return grade_one(inst, pred, config, cancel)

    columns = (TextColumn("[bold]swebench eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TextColumn("{task.description}"), disable=not progress, transient=False) as bar:
        task = bar.add_task("", total=len(todo))
        pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="swebench-eval")
        futures: dict[Future[Outcome], str] = {pool.submit(work, i, p): i.instance_id for i, p in todo}
        try:
            for fut in as_completed(futures):
                outcome = fut.result()
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
                bar.update(
                    task, advance=1, description=" ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                )
                if on_outcome:
                    on_outcome(outcome)
        except BaseException:
            cancel.cancel()  # queued instances return at once; live grading containers are removed now
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
