"""Grade one prediction in a fresh container: apply the model patch, reset test files, apply test_patch,
run the tests, parse and grade. Reads gold fields (grading only)."""

from __future__ import annotations

import shlex
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchjury.envs.errors import EnvError
from patchjury.envs.patching import apply_patch
from patchjury.envs.plan import EnvSettings, InstancePlan, plan_swebench_instance
from patchjury.envs.protocol import Env
from patchjury.envs.swebench.errors import GradingError
from patchjury.envs.swebench.grading import (
    END_TEST_OUTPUT,
    START_TEST_OUTPUT,
    build_test_command,
    empty_report,
    get_tests_status,
    parse_test_log,
    resolution,
    touched_files,
)
from patchjury.envs.swebench.instances import SWEInstance
from patchjury.envs.swebench.predictions import Prediction

if TYPE_CHECKING:
    from patchjury.envs.swebench.evaluate import EvalConfig

DEFAULT_TEST_TIMEOUT = 1800.0


class Cancellation:
    """Shared by the workers of one eval run: `cancel()` (on Ctrl-C) stops new work and closes (removes) every
    live grading container at once, so interrupted runs leave nothing behind and write no half-graded report."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._envs: dict[int, Env] = {}

    def is_set(self) -> bool:
        return self._event.is_set()

    def register(self, env: Env) -> None:
        with self._lock:
            if not self._event.is_set():
                self._envs[id(env)] = env
                return
        env.close()
        raise GradingError("interrupted", stage="interrupted")

    def unregister(self, env: Env) -> None:
        with self._lock:
            self._envs.pop(id(env), None)

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            envs = list(self._envs.values())
            self._envs.clear()
        for env in envs:
            try:
                env.close()
            except EnvError:
                continue  # already gone; the engine's own sweep covers leftovers
        from patchjury.envs.sweep import cleanup_all

        cleanup_all()  # also image-build containers, so builds in progress stop now rather than at exit


def _plan(instance: SWEInstance, config: EvalConfig, inst_dir: Path) -> InstancePlan:
    """The grading container's plan: the instance image, full (untruncated) output, the configured limits, and
    no network unless the recipe asks for it (grading settings never grant it)."""
    settings = EnvSettings(memory=config.memory, cpus=config.cpus, output_limit=0, network=False)
    try:
        return plan_swebench_instance(instance, settings, config, log_dir=inst_dir)
    except EnvError as exc:
        raise GradingError(str(exc), stage="image") from exc


def reset_test_files(env: Env, files: list[str]) -> None:
    """Restore the files test_patch touches to the base commit (remove them when new), as the official
    harness does before applying test_patch, so a model's edits to those tests cannot interfere."""
    for path in files:
        p = shlex.quote(path)
        env.execute(
            f"if git cat-file -e HEAD:{p} 2>/dev/null; then git checkout -q HEAD -- {p}; else rm -f -- {p}; fi",
            timeout=120,
        )


def _write_log(path: Path, cmd: str, output: str, footer: str) -> None:
    path.write_text(f"$ {cmd}\n{START_TEST_OUTPUT}\n{output}\n{END_TEST_OUTPUT}\n{footer}\n")


def grade_in_container(
    instance: SWEInstance,
    pred: Prediction,
    config: EvalConfig,
    inst_dir: Path,
    cancel: Cancellation | None = None,
) -> dict[str, Any]:
    """The report for one prediction (status resolved / unresolved / patch_failed / empty_patch).

    Raises GradingError (with `stage`) when it cannot be graded; the caller records it.
    """
    t0 = time.monotonic()
    report = empty_report(instance.instance_id, pred.model_patch)
    report["model_name_or_path"] = pred.model_name_or_path
    if not report["patch_exists"]:
        report.update(status="empty_patch", reason="empty patch")
        return report
    plan = _plan(instance, config, inst_dir)
    image = plan.image
    report["image"] = image.tag
    report["official_image"] = image.official
    recipe = image.recipe
    if recipe is not None and recipe.notes:
        report["notes"] = recipe.notes
    try:
        cmd = build_test_command(instance, recipe, image.official)
    except EnvError as exc:
        raise GradingError(str(exc), stage="test_cmd") from exc
    timeout = config.test_timeout or (recipe.test_timeout if recipe else DEFAULT_TEST_TIMEOUT)
    times: dict[str, float] = {"image_s": round(image.seconds, 2)}
    report["times"] = times
    t_env = time.monotonic()
    try:
        env = plan.new_env()
    except EnvError as exc:
        raise GradingError(f"cannot start a container from {image.tag}: {exc}", stage="container") from exc
    try:
        if cancel is not None:
            cancel.register(env)
        times["container_s"] = round(time.monotonic() - t_env, 2)
        applied = apply_patch(env, pred.model_patch or "")
        report["apply_method"] = applied.method
        if not applied.applied:
            report.update(status="patch_failed", reason=f"patch failed to apply: {applied.reason}")
            (inst_dir / "test_output.txt").write_text(f"patch failed to apply\n{applied.output}\n")
            return report
        report["patch_successfully_applied"] = True
        files = touched_files(instance.test_patch)
        reset_test_files(env, files)
        test_applied = apply_patch(env, instance.test_patch)
        if not test_applied.applied:
            (inst_dir / "test_output.txt").write_text(f"test patch failed to apply\n{test_applied.output}\n")
            raise GradingError(
                f"the instance's test_patch does not apply after the model patch ({test_applied.reason})",
                stage="test_patch",
            )
        t_test = time.monotonic()
        result = env.execute(cmd, timeout=timeout)
        times["test_s"] = round(time.monotonic() - t_test, 2)
        footer = (
            f"exit code: {result.exit_code}  duration: {result.duration:.1f}s  timed out: {result.timed_out}"
        )
        _write_log(inst_dir / "test_output.txt", cmd, result.output, footer)
    except GradingError:
        raise
    except EnvError as exc:
        raise GradingError(f"container error: {exc}", stage="container") from exc
    finally:
        if cancel is not None:
            cancel.unregister(env)
        env.close()
    try:
        parser, status_map = parse_test_log(instance, result.output, recipe)
    except EnvError as exc:
        raise GradingError(str(exc), stage="parse") from exc
    status = get_tests_status(instance, status_map)
    verdict = resolution(status)
    resolved = (
        verdict == "RESOLVED_FULL" and not result.timed_out
    )  # a timed-out run never resolves (official)
    report.update(
        resolved=resolved,
        resolution=verdict,
        status="resolved" if resolved else "unresolved",
        tests_status=status,
        test_cmd=cmd,
        test_exit_code=result.exit_code,
        log_parser=parser,
        tests_parsed=len(status_map),
    )
    if result.timed_out:
        report["reason"] = f"tests timed out after {timeout:.0f}s"
    elif not resolved:
        failing = status["FAIL_TO_PASS"]["failure"] + status["PASS_TO_PASS"]["failure"]
        report["reason"] = f"{len(failing)} required test(s) failing or missing: {', '.join(failing[:5])}"
    times["total_s"] = round(time.monotonic() - t0, 2)
    return report
