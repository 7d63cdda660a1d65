"""Regression signal without gold data: repository tests related to the edited files, before and after.

The related test files (selection/related_tests.py, documented in docs/selection.md) run with the configured
command on the original code; tests that pass there are the baseline. Each candidate's count of *new failures* is
the number of baseline tests that do not pass with the candidate (failed, errored, or missing, e.g. collection
broke). A command that times out runs again (`timeout_retries`, twice the limit each time, from a fresh tree), on
the original code too, because machine load can cause a timeout; only a last attempt that still times out counts.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from patchjury.envs.patching import apply_patch, patch_files
from patchjury.envs.protocol import Env, ExecResult
from patchjury.envs.swebench.grading import django_module_label
from patchjury.selection.config import RegressionConfig
from patchjury.selection.env_pool import EnvPool
from patchjury.selection.errors import SelectionConfigError
from patchjury.selection.pass_matrix import ORIGINAL
from patchjury.selection.related_tests import full_output, related_test_files

_RA_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(\S.*?)(?:\s+-\s.*)?$")
PASSING = {"PASSED", "XFAIL", "XPASS"}


def parse_pytest_ra(output: str) -> dict[str, str]:
    """Test id -> PASSED/FAILED/ERROR/XFAIL/XPASS from pytest's `-rA` short summary (SKIPPED ignored).

    Collection errors (`ERROR path/test_x.py - ...`) appear with the file as id. A test listed twice
    (e.g. failed in the call and errored in teardown) keeps the worse status.
    """
    out: dict[str, str] = {}
    for raw in output.splitlines():
        m = _RA_LINE.match(raw.strip())
        if not m or m.group(1) == "SKIPPED":
            continue
        status, test_id = m.group(1), m.group(2).strip()
        if out.get(test_id) in ("FAILED", "ERROR") and status in PASSING:
            continue
        out[test_id] = status
    return out


def parse_results(output: str, parser: str = "pytest_ra") -> dict[str, str]:
    """Test id -> status, read with `parser` (`pytest_ra`, or a SWE-bench log parser name); SKIPPED dropped."""
    if parser == "pytest_ra":
        return parse_pytest_ra(output)
    from patchjury.envs.swebench.parsers import get_parser

    try:
        fn = get_parser(parser)
    except LookupError as exc:
        raise SelectionConfigError(f"regression.parser: {exc}") from exc
    return {t: s for t, s in fn(output).items() if s != "SKIPPED"}


@dataclass
class RegressionReport:
    """Related repository tests, their baseline on the original code, and new failures per subject."""

    files: list[str] = field(default_factory=list)
    baseline: dict[str, str] = field(default_factory=dict)
    """Test id -> status on the original code."""
    failures: dict[str, list[str]] = field(default_factory=dict)
    """Subject -> baseline-passing test ids that do not pass with it."""
    note: str = ""
    """Why the signal is missing or partial (no related tests, baseline run timed out...)."""

    @property
    def passing(self) -> list[str]:
        return sorted(t for t, s in self.baseline.items() if s in PASSING)

    def count(self, subject: str) -> int | None:
        got = self.failures.get(subject)
        return None if got is None else len(got)


def _prepare(env: Env, patch: str) -> str:
    """Reset the checkout and apply `patch`: "" when ready, else why the patch does not apply."""
    env.reset()
    if patch.strip():
        res = apply_patch(env, patch)
        if not res.applied:
            return f"patch does not apply: {res.reason}"
    return ""


@dataclass
class _Timing:
    """What the original code's run taught about each command (key: the file with `per_file`, else ""): files too
    slow to keep, and the limit under which a command finished after retries. A candidate's first attempt gets that
    limit rather than repeating an attempt bound to time out."""

    slow: list[str] = field(default_factory=list)
    limit: dict[str, float] = field(default_factory=dict)


def _attempts(
    env: Env, patch: str, cmd: str, config: RegressionConfig, first: float
) -> tuple[str, ExecResult, list[float], str]:
    """Run `cmd` with limit `first`; while it times out, run it again (at most `timeout_retries` times, each with
    twice the previous limit) from a freshly reset and re-patched tree, as the killed run may have left files behind.
    Returns the last attempt's output and result, the limit of every attempt, and why a retry could not start."""
    limits = [first]
    text, out = full_output(env, cmd, limits[0])
    while out.timed_out and len(limits) <= config.timeout_retries:
        why = _prepare(env, patch)
        if why:  # it applied a moment ago: the environment itself is broken, keep the timed-out result
            return text, out, limits, f"no retry: {why} after a reset"
        limits.append(2 * limits[-1])
        text, out = full_output(env, cmd, limits[-1])
    return text, out, limits, ""


def _timed_out(limits: Sequence[float]) -> str:
    first, *again = (f"{x:g} s" for x in limits)
    return f"timed out after {first}" + (f", and again after {' and '.join(again)}" if again else "")


def _run(
    env: Env,
    patch: str,
    files: Sequence[str],
    config: RegressionConfig,
    timing: _Timing,
    baseline: bool = False,
) -> tuple[dict[str, str], str]:
    """Statuses of the related tests with `patch` applied, and notes. A command that times out is retried (see
    `_attempts`). The `baseline` run records into `timing`: with `per_file`, a file whose last attempt still times out
    is marked slow and its partial results left out. For a candidate, a last attempt that times out keeps its
    partial results: the tests it did not finish count as failures (a patch that makes the tests hang regresses)."""
    default = config.file_timeout if config.per_file else config.timeout
    why = _prepare(env, patch)
    if why:
        return {}, why
    batches = [[f] for f in files] if config.per_file else [list(files)]
    parsed: dict[str, str] = {}
    notes: list[str] = []
    for batch in batches:
        cmd = config.command.format(
            files=" ".join(shlex.quote(f) for f in batch),
            modules=" ".join(shlex.quote(django_module_label(f)) for f in batch),
        )
        key = batch[0] if config.per_file else ""
        text, out, limits, no_retry = _attempts(env, patch, cmd, config, timing.limit.get(key, default))
        if baseline and not out.timed_out and len(limits) > 1:
            timing.limit[key] = limits[-1]
        got = parse_results(text, config.parser)
        where = f"{batch[0]}: " if config.per_file else ""
        timeouts = _timed_out(limits) + (f" ({no_retry})" if no_retry else "")
        if out.timed_out and baseline and config.per_file:
            timing.slow.append(batch[0])
            notes.append(f"{where}{timeouts}: left out")
            continue
        parsed.update(got)
        if out.timed_out:
            outcome = "partial results" if baseline else "its unfinished tests count as failures"
            notes.append(f"{where}{timeouts}: {outcome}")
            continue
        if len(limits) > 1:
            notes.append(f"{where}{_timed_out(limits[:-1])}, finished on retry within {limits[-1]:g} s")
        if not got:
            tail = " ".join(text.strip().splitlines()[-3:])[-240:]
            notes.append(
                f"{where}exit {out.exit_code}, no test results ({config.parser}) in the output: "
                f"{tail or '(no output)'}"
            )
    env.reset()
    return parsed, "; ".join(notes)


def run_regression(
    pool: EnvPool,
    subjects: Mapping[str, str],
    config: RegressionConfig,
    workers: int = 1,
    files: Sequence[str] | None = None,
) -> RegressionReport:
    """Find related tests for the files any subject edits (or take `files`, e.g. to extend an earlier run on the
    same tests), take the baseline, count new failures per subject."""
    edited = sorted({f for patch in subjects.values() for f in patch_files(patch)})
    with pool.lease() as env:
        env.reset()
        files = list(files) if files is not None else related_test_files(env, edited, config)
        if not files:
            return RegressionReport(note=f"no repository tests related to {', '.join(edited) or 'the edits'}")
        timing = _Timing()  # per_file: a file too slow on the original code is not run on every subject
        baseline, note = _run(env, "", files, config, timing, baseline=True)
        files = [f for f in files if f not in timing.slow]
    report = RegressionReport(files=files, baseline=baseline)
    passing = report.passing
    if not passing:
        report.note = "no related test passes on the original code" + (f" ({note})" if note else "")
        return report

    def work(subject: str) -> tuple[str, list[str], str]:
        with pool.lease() as env:
            got, why = _run(env, subjects[subject], files, config, timing)
        return subject, [t for t in passing if got.get(t) not in PASSING], why

    notes = [f"baseline {note}"] if note else []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(subjects) or 1))) as ex:
        for subject, failed, why in ex.map(work, [s for s in subjects if s != ORIGINAL]):
            if why.startswith("patch does not apply"):
                notes.append(f"{subject}: {why}")
                continue
            report.failures[subject] = failed
            if why:
                notes.append(f"{subject}: {why}")
    report.note = "; ".join(notes)
    return report
