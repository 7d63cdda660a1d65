"""The pass matrix: every reproduction test against the original code and every distinct candidate patch.

Rows ("subjects") are `original` plus one representative per cluster of identical normalized patches
(a cluster is run once: its members share the row, which is what keeps the cost down). Columns are the
distinct reproduction tests of all candidates (identical path+content+command written by several
candidates are one test). A cell = reset the Env, apply the subject's patch, write the test file, run
`TestFile.run_command()` with a timeout. Exit codes, not output text, decide: 0 = `pass` (issue resolved),
2 = `fail` (issue still reproduced), timeout = `timeout`, anything else = `error` (the test is broken
on that subject). A test is *kept* when it exits 2 on the original code (it reproduces the issue); a kept
test is *distinguishing* when some applying candidates pass it and others do not.

Workers run subjects in parallel, each leasing one Env from an `EnvPool` (reused, reset between subjects; between
cells only when a test changed the work tree, or always with `isolation="cell"`).
"""

from __future__ import annotations

import queue
import shlex
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from patchjury.envs.errors import EnvError
from patchjury.envs.patching import apply_patch
from patchjury.envs.protocol import Env, EnvFactory
from patchjury.records import Candidate
from patchjury.selection.config import ExecutionConfig
from patchjury.selection.errors import ExecutionError

ORIGINAL = "original"
CellStatus = Literal["pass", "fail", "error", "timeout", "not_run"]


class EnvPool:
    """Up to `size` Envs made on demand by `factory`, leased one per worker; `close()` releases all."""

    def __init__(self, factory: EnvFactory, size: int) -> None:
        self.factory = factory
        self.size = max(1, size)
        self._free: queue.Queue[Env] = queue.Queue()
        self._all: list[Env] = []
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[Env]:
        env: Env | None = None
        with self._lock:
            if self._free.empty() and len(self._all) < self.size:
                try:
                    env = self.factory()
                except EnvError as exc:
                    raise ExecutionError(
                        f"could not start an environment for running tests: {exc} "
                        "(fix the environment, or run selection with --no-exec)"
                    ) from exc
                self._all.append(env)
        if env is None:
            env = self._free.get()
        try:
            yield env
        finally:
            self._free.put(env)

    def close(self) -> None:
        for env in self._all:
            env.close()
        self._all.clear()

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ReproTest:
    """One distinct reproduction test and the candidates that wrote it."""

    test_id: str
    path: str
    content: str
    command: str
    authors: list[str] = field(default_factory=list)


@dataclass
class Cell:
    """One test run on one subject."""

    subject: str
    test_id: str
    status: CellStatus
    exit_code: int | None = None
    duration: float = 0.0
    tail: str = ""
    """The last characters of the output."""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class PassMatrix:
    """Results of the whole grid plus which tests matter."""

    tests: list[ReproTest]
    subjects: list[str]
    """`original` first, then cluster representatives."""
    cells: dict[tuple[str, str], Cell]
    apply_failures: dict[str, str] = field(default_factory=dict)
    """subject -> why its patch did not apply."""
    kept: list[str] = field(default_factory=list)
    """Tests that exit 2 (reproduce the issue) on the original code."""
    distinguishing: list[str] = field(default_factory=list)
    """Kept tests passed by some applying subjects and not by others."""

    def cell(self, subject: str, test_id: str) -> Cell | None:
        return self.cells.get((subject, test_id))

    def row(self, subject: str, test_ids: Sequence[str] | None = None) -> list[bool]:
        """Pass (exit 0) per test, kept tests by default."""
        ids = self.kept if test_ids is None else test_ids
        return [bool((c := self.cell(subject, t)) and c.passed) for t in ids]

    def applying(self) -> list[str]:
        return [s for s in self.subjects if s != ORIGINAL and s not in self.apply_failures]

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": [asdict(t) | {"content": None} for t in self.tests],
            "subjects": self.subjects,
            "cells": [asdict(c) for c in self.cells.values()],
            "apply_failures": self.apply_failures,
            "kept": self.kept,
            "distinguishing": self.distinguishing,
        }


def collect_tests(candidates: Sequence[Candidate], limit: int | None = None) -> list[ReproTest]:
    """Distinct tests of all candidates (identical path, content and command merged), in candidate order."""
    seen: dict[tuple[str, str, str], ReproTest] = {}
    for cand in candidates:
        for tf in cand.tests:
            key = (tf.path, tf.content, tf.run_command())
            if key not in seen:
                if limit is not None and len(seen) >= limit:
                    continue
                seen[key] = ReproTest(f"{cand.candidate_id}/{tf.path}", tf.path, tf.content, tf.run_command())
            if cand.candidate_id not in seen[key].authors:
                seen[key].authors.append(cand.candidate_id)
    return list(seen.values())


def _tail(text: str, n: int) -> str:
    return text[-n:] if n and len(text) > n else (text if n else "")


def _prepare(env: Env, patch: str) -> str | None:
    """Reset, then apply `patch`; the failure reason, or None."""
    env.reset()
    if not patch.strip():
        return None
    res = apply_patch(env, patch)
    return None if res.applied else (res.reason or "patch does not apply")


_FINGERPRINT = "{ git diff HEAD --binary; git ls-files --others --exclude-standard | grep -v __pycache__; } 2>&1 | sha1sum"


def _fingerprint(env: Env) -> str:
    """A hash of the work tree's state (tracked edits + new non-ignored files), to detect tests that change it."""
    return env.execute(_FINGERPRINT, timeout=120).output


def _run_subject(
    env: Env,
    subject: str,
    patch: str,
    tests: Sequence[ReproTest],
    cfg: ExecutionConfig,
    tick: Callable[[], None],
) -> tuple[list[Cell], str | None]:
    """All tests on one subject; the patch is applied once up front (so a subject without tests is still
    checked) and again after every reset (every cell with isolation="cell", else only after a test that
    changed the work tree)."""
    cells: list[Cell] = []
    why = _prepare(env, patch)
    if why:
        for t in tests:
            cells.append(Cell(subject, t.test_id, "not_run", tail=why))
            tick()
        env.reset()
        return cells, why
    clean = _fingerprint(env) if cfg.isolation == "checked" else ""
    dirty = False
    for i, test in enumerate(tests):
        if i and (cfg.isolation == "cell" or dirty):
            again = _prepare(env, patch)
            if again:
                raise ExecutionError(f"{subject}: the patch applied once but not after a reset ({again})")
        env.write_file(test.path, test.content)
        out = env.execute(test.command, timeout=cfg.test_timeout)
        if cfg.isolation == "checked":
            env.execute(f"rm -f -- {shlex.quote(test.path)}", timeout=30)
            dirty = _fingerprint(env) != clean
        if out.timed_out:
            status: CellStatus = "timeout"
        elif out.exit_code == 0:
            status = "pass"
        elif out.exit_code == 2:
            status = "fail"
        else:
            status = "error"
        cells.append(
            Cell(
                subject, test.test_id, status, out.exit_code, out.duration, _tail(out.output, cfg.output_tail)
            )
        )
        tick()
    env.reset()
    return cells, None


def run_pass_matrix(
    tests: Sequence[ReproTest],
    subjects: Mapping[str, str],
    pool: EnvPool,
    config: ExecutionConfig,
    *,
    progress: bool = True,
    label: str = "",
) -> PassMatrix:
    """Run every test on `original` and on every subject (`subject id -> patch`), in parallel.

    Subject ids must be unique and must not be `original` (it is added first, with no patch).
    """
    if ORIGINAL in subjects:
        raise ExecutionError(
            f"subject id {ORIGINAL!r} is reserved for the unpatched code; rename that candidate"
        )
    order = [ORIGINAL, *subjects]
    patches = {ORIGINAL: "", **subjects}
    cells: dict[tuple[str, str], Cell] = {}
    failures: dict[str, str] = {}
    if subjects or tests:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        lock = threading.Lock()
        with Progress(
            TextColumn("[bold]pass matrix[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not progress,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=len(order) * len(tests))

            def tick() -> None:
                with lock:
                    bar.advance(task)

            def work(subject: str) -> tuple[str, list[Cell], str | None]:
                with pool.lease() as env:
                    try:
                        got, why = _run_subject(env, subject, patches[subject], tests, config, tick)
                    except EnvError as exc:
                        raise ExecutionError(
                            f"the environment failed while running tests on {subject}: {exc} "
                            "(check the engine/image, or run with --no-exec)"
                        ) from exc
                return subject, got, why

            with ThreadPoolExecutor(max_workers=min(config.workers, len(order))) as ex:
                for subject, got, why in ex.map(work, order):
                    cells.update({(c.subject, c.test_id): c for c in got})
                    if why:
                        failures[subject] = why
    matrix = PassMatrix(list(tests), order, cells, failures)
    matrix.kept = [t.test_id for t in tests if (c := matrix.cell(ORIGINAL, t.test_id)) and c.status == "fail"]
    applying = matrix.applying()
    matrix.distinguishing = [
        t for t in matrix.kept if len({bool(matrix.row(s, [t])[0]) for s in applying}) > 1
    ]
    return matrix
