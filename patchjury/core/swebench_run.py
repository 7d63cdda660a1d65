"""`patchjury swebench run`: N trajectories + the jury per SWE-bench instance, in parallel, resumably.

Layout of `--out DIR`:
    preds.jsonl                       swebench predictions (instance_id, model_patch, model_name_or_path)
    instances/<id>/                   run directory of one instance: trajectories/, candidates.jsonl,
                                      decision.json, explanation.md, jury.png, result.json (costs, times)
    summary.json, summary.md          cost and time per instance and for the run
    eval/                             grading (with --eval): per-instance report.json, summary.json
An instance with a result.json of status `done` is skipped on rerun unless `--redo-existing`; an
interrupted instance resumes its unfinished trajectories from their checkpoints.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field

from patchjury.core.errors import UsageError
from patchjury.core.pipeline import Backend, run_task
from patchjury.core.settings import Settings, check_model_keys
from patchjury.envs.errors import EnvError
from patchjury.envs.plan import EnvPlan, require_docker
from patchjury.envs.swebench.instances import SWEInstance, load_instances, select_instances
from patchjury.envs.swebench.source import InstanceSource
from patchjury.report.run_report import own_test_verdicts, patch_stats
from patchjury.report.swebench import InstanceResult, RunSummary, summary_markdown, totals, write_json
from patchjury.trajectory_record import RecordFileError, Usage, load_trajectory


class SWERunConfig(InstanceSource):
    """Which instances, where the outputs go, and how to run them."""

    model_config = ConfigDict(extra="forbid")

    workers: int = Field(1, ge=1)
    """Instances processed at once (each runs `agent.workers` trajectories at once)."""
    out: Path = Path("swebench_runs")
    """Output directory."""
    redo_existing: bool = False
    """Run instances again even when they have a finished result."""
    eval: bool = False
    """Grade each prediction as soon as it is ready (FAIL_TO_PASS / PASS_TO_PASS) and show resolved-so-far."""


def instance_settings(settings: Settings, inst: SWEInstance) -> Settings:
    """`{instance_id}` in a model's replay_path/script_path becomes the instance id (per-instance replays)."""
    models = []
    for m in settings.model_list():
        update = {
            k: getattr(m, k).replace("{instance_id}", inst.instance_id)
            for k in ("replay_path", "script_path")
            if getattr(m, k) and "{instance_id}" in getattr(m, k)
        }
        models.append(m.model_copy(update=update) if update else m)
    return settings.model_copy(update={"models": models})


BackendFor = Callable[[SWEInstance], tuple[EnvPlan, Backend]]
"""An instance -> where its trajectories and jury run (e.g. a Ray cluster; default: this machine)."""


def run_instance_dir(
    inst: SWEInstance,
    cfg: SWERunConfig,
    settings: Settings,
    on_event: Callable[[Any], None] | None = None,
    backend_for: BackendFor | None = None,
) -> InstanceResult:
    """Image -> trajectories -> jury for one instance; writes and returns its result (never raises for
    expected failures: they are recorded with the stage and reason)."""
    from patchjury.envs.plan import plan_swebench_instance
    from patchjury.selection.static_check import StaticChecker, cache_source

    inst_dir = cfg.out / "instances" / inst.instance_id
    inst_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    result = InstanceResult(instance_id=inst.instance_id, status="error", started_at=time.time())
    stage = "image"
    backend: Backend | None = None
    try:
        if backend_for is not None:
            plan, backend = backend_for(inst)  # the image is made where the containers run
        else:
            local = plan_swebench_instance(
                inst, settings.env, cfg, {"dev.patchjury.front": "swebench-run"}, log_dir=inst_dir
            )
            result.image, result.image_seconds = local.image.tag, round(local.image.seconds, 2)
            plan = local
        stage = "solve"
        task = inst.to_task(include_hints=settings.agent.show_hints)
        # Images built from recipes read the repository from the cache (or its clone), which static checks reuse.
        static = None if cfg.use_official_image else StaticChecker(cache_source(cfg.repo_cache))
        run = run_task(
            task,
            plan,
            instance_settings(settings, inst),
            inst_dir,
            progress=False,
            on_event=on_event,
            static=static,
            backend=backend,
        )
    except (EnvError, UsageError) as exc:
        result.stage, result.error = stage, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - one broken instance must not stop the benchmark; recorded in full
        result.stage, result.error = stage, f"{type(exc).__name__}: {exc}"
        (inst_dir / "error.log").write_text(traceback.format_exc())
    else:
        decision = run.decision
        own = own_test_verdicts(run.candidates, decision, run.run.matrix)
        files, added, removed = patch_stats(decision.model_patch or "")
        usage = Usage()  # tokens over the trajectories' records (cached ones apart)
        for cand in run.candidates:
            try:
                usage.add(load_trajectory(str(cand.trajectory)).totals)
            except RecordFileError:
                continue
        result = result.model_copy(
            update={
                "status": "done",
                "winner": decision.winner,
                "selector": decision.method,
                "model_patch": decision.model_patch or "",
                "own_test": own[decision.winner].status if decision.winner in own else None,
                "n_trajectories": len(run.candidates),
                "n_candidates": sum(1 for c in run.candidates if c.model_patch.strip()),
                "statuses": sorted({c.status for c in run.candidates}),
                "files": files,
                "lines_changed": added + removed,
                "cost": round(run.cost, 6),
                "tokens": usage.tokens,
                "prompt_tokens": usage.prompt_tokens,
                "cached_tokens": usage.cached_tokens,
                "container_minutes": round(run.env_seconds / 60, 3),
            }
        )
        if run.adaptive is not None:
            result.adaptive = run.adaptive
    if backend is not None:
        result = result.model_copy(update=backend.info)
    result.seconds = round(time.monotonic() - start, 2)
    result.finished_at = time.time()
    result.save(inst_dir)
    return result


def write_predictions(cfg: SWERunConfig, selected: list[SWEInstance], model_name: str) -> Path:
    """preds.jsonl from every finished instance of the selection (dataset order), rewritten atomically."""
    path = cfg.out / "preds.jsonl"
    rows = []
    for inst in selected:
        res = InstanceResult.load(cfg.out / "instances" / inst.instance_id)
        if res is not None and res.done:
            rows.append(
                {
                    "instance_id": inst.instance_id,
                    "model_patch": res.model_patch,
                    "model_name_or_path": model_name,
                }
            )
    tmp = path.with_name(".preds.jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)
    return path


def _grade(inst: SWEInstance, cfg: SWERunConfig, result: InstanceResult, model_name: str) -> str:
    from patchjury.envs.swebench.evaluate import EvalConfig, grade_one
    from patchjury.envs.swebench.predictions import Prediction

    ecfg = EvalConfig(
        predictions=cfg.out / "preds.jsonl",
        instances=cfg.instances,
        repo_cache=cfg.repo_cache,
        allow_clone=cfg.allow_clone,
        recipes=cfg.recipes,
        use_official_image=cfg.use_official_image,
        out=cfg.out / "eval",
        redo=True,
    )
    if not result.model_patch.strip():
        return "empty_patch"
    pred = Prediction(
        instance_id=inst.instance_id, model_patch=result.model_patch, model_name_or_path=model_name
    )
    return grade_one(inst, pred, ecfg).status


def run_swebench(
    cfg: SWERunConfig,
    settings: Settings,
    progress: bool = True,
    *,
    backend_for: BackendFor | None = None,
    on_interrupt: Callable[[], None] | None = None,
) -> RunSummary:
    """Run every selected instance (skipping finished ones); returns the run summary (also written to disk).
    One process per output folder: a second one gets RunInUseError naming the first. `backend_for` puts
    instances elsewhere (a Ray cluster); `on_interrupt` runs on Ctrl-C before re-raising."""
    from patchjury.core.runs import RunLock
    from patchjury.envs.sweep import docker_client

    check_model_keys(settings.model_list())
    require_docker(settings.env)  # a cluster's nodes run Docker containers too
    selected = select_instances(load_instances(cfg.instances), cfg.instance_ids, cfg.slice, cfg.filter)
    if not selected:
        raise UsageError("the selection is empty: check --instance-ids / --slice / --filter")
    if backend_for is None:  # on a cluster the nodes need the engine, not this machine (checked on connect)
        docker_client()  # an unreachable engine: one error line now, not one recorded failure per instance
    with RunLock(cfg.out, "swebench run output"):
        return _run_locked(cfg, settings, selected, progress, backend_for, on_interrupt)


def _run_locked(
    cfg: SWERunConfig,
    settings: Settings,
    selected: list[SWEInstance],
    progress: bool,
    backend_for: BackendFor | None = None,
    on_interrupt: Callable[[], None] | None = None,
) -> RunSummary:
    from patchjury.report.progress import RunProgress

    cfg.out.mkdir(parents=True, exist_ok=True)
    (cfg.out / "instances").mkdir(exist_ok=True)
    model_name = settings.selection.model_name
    todo = []
    for inst in selected:
        res = InstanceResult.load(cfg.out / "instances" / inst.instance_id)
        if res is not None and res.done and not cfg.redo_existing:
            continue
        todo.append(inst)
    lock = threading.Lock()
    start = time.monotonic()
    with RunProgress(
        len(selected), len(selected) - len(todo), settings.agent.n_trajectories, cfg.eval, progress
    ) as view:

        def work(inst: SWEInstance) -> InstanceResult:
            view.started(inst.instance_id)
            res = run_instance_dir(inst, cfg, settings, on_event=view.on_event, backend_for=backend_for)
            with lock:
                write_predictions(cfg, selected, model_name)
            if cfg.eval and res.done:
                res.eval = _grade(inst, cfg, res, model_name)
                res.save(cfg.out / "instances" / inst.instance_id)
            return res

        pool = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="swebench-run")
        futures = [pool.submit(work, inst) for inst in todo]
        try:
            for fut in as_completed(futures):
                view.finished(fut.result())
        except BaseException:
            # Ctrl-C or a bug: queued instances never start; running ones finish their current step and
            # remove their containers; a rerun resumes them from their checkpoints.
            pool.shutdown(wait=False, cancel_futures=True)
            if on_interrupt is not None:
                on_interrupt()
            raise
        pool.shutdown(wait=True)
    write_predictions(cfg, selected, model_name)
    results = [
        InstanceResult.load(cfg.out / "instances" / i.instance_id)
        or InstanceResult(instance_id=i.instance_id, status="missing")
        for i in selected
    ]
    summary = RunSummary(
        instances=results,
        totals=totals(results),
        wall_seconds=round(time.monotonic() - start, 2),
        skipped_existing=len(selected) - len(todo),
        predictions=str(cfg.out / "preds.jsonl"),
    )
    if cfg.eval:
        from patchjury.envs.swebench.evaluate import EvalConfig, summarize
        from patchjury.envs.swebench.predictions import load_predictions

        ecfg = EvalConfig(predictions=cfg.out / "preds.jsonl", instances=cfg.instances, out=cfg.out / "eval")
        preds = load_predictions(ecfg.predictions) if any(r.done for r in results) else {}
        summary.eval = summarize(ecfg, selected, preds)
        (cfg.out / "eval").mkdir(exist_ok=True)
        write_json(cfg.out / "eval" / "summary.json", summary.eval)
    summary.save(cfg.out / "summary.json")
    (cfg.out / "summary.md").write_text(summary_markdown(summary))
    return summary
