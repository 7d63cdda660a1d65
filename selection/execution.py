"""The pass matrix: every reproduction test against the original code and every distinct candidate patch.

Rows ("subjects") are `original` plus one representative per cluster of identical normalized patches
(a cluster is run once: its members share the row, which is what keeps the cost down). Columns are the
distinct reproduction tests of all candidates (identical path+content+command written by several
candidates are one test). A cell = reset the Env, apply the subject's patch, write the test file, run
`TestFile.run_command()` with a timeout. Exit codes, not output text, decide: 0 = `pass` (issue resolved),
2 = `fail` (issue still reproduced), timeout = `timeout`, anything else = `error` (the test is broken
on that subject). A test is *kept* when it exits 2 on the original code (it reproduces the issue); a kept
test is *distinguishing* when some applying candidates pass it and others do not.

Every cell also records what the run showed, made comparable across subjects (selection.outputs): the exit code,
whether it timed out, the digest of its normalized output, a short excerpt, the exception it died of and any
Agentless-style verdict line. Real agents' scripts mostly print and exit 0, so that output is the evidence
(selection.behaviour turns it into behaviour classes and votes).

Before a patch is applied its agent scratch files are stripped (selection/scratch.py; recorded per subject), and
tests that name their file in their command run from `<test_dir>/<n>/` with the repository root on PYTHONPATH: a
test never overwrites a repository file or a candidate's own copy of the script. A test that leaves the environment
unusable (deletes `.git`, kills the container) is recorded on its cell and the worker starts a fresh environment.

Workers run subjects in parallel, each leasing one Env from an `EnvPool` (reused, reset between subjects; between
cells only when a test changed the work tree, or always with `isolation="cell"`).

The records it fills in (ReproTest, Cell, PassMatrix, ORIGINAL, `collect_tests`) live in selection.pass_matrix, the
pool in selection.env_pool; their names are importable from here too.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from patchjury.envs.errors import EnvError
from patchjury.envs.patching import apply_patch
from patchjury.envs.protocol import Env, EnvFactory
from patchjury.selection.config import ExecutionConfig
from patchjury.selection.env_pool import EnvPool
from patchjury.selection.errors import ExecutionError
from patchjury.selection.outputs import observe
from patchjury.selection.pass_matrix import ORIGINAL, Cell, CellStatus, PassMatrix, ReproTest, collect_tests
from patchjury.selection.scratch import strip_scratch

__all__ = [
    "ORIGINAL",
    "Cell",
    "CellStatus",
    "EnvFactory",
    "EnvPool",
    "PassMatrix",
    "ReproTest",
    "collect_tests",
    "placement",
    "run_pass_matrix",
]


def _tail(text: str, n: int) -> str:
    return text[-n:] if n and len(text) > n else (text if n else "")


_TOP_LEVEL = "git ls-tree --name-only HEAD"
_FINGERPRINT = "{ git diff HEAD --binary; git ls-files --others --exclude-standard | grep -v __pycache__; } 2>&1 | sha1sum"


def _prepare(
    env: Env, patch: str, cfg: ExecutionConfig, test_paths: set[str]
) -> tuple[str | None, list[str]]:
    """Reset, strip the patch's scratch files (when configured), apply it: (the failure reason or None, the
    stripped paths)."""
    env.reset()
    stripped: list[str] = []
    if cfg.strip_scratch and patch.strip():
        listing = env.execute(_TOP_LEVEL, timeout=60)
        top = set(listing.output.split()) if listing.exit_code == 0 else None
        patch, stripped = strip_scratch(patch, test_paths, top)
    if not patch.strip():
        return None, stripped
    res = apply_patch(env, patch)
    return (None if res.applied else (res.reason or "patch does not apply")), stripped


def placement(test: ReproTest, slot: int, test_dir: str) -> tuple[str, str]:
    """(where the test file is written, the command that runs it). A candidate's test whose command names its file
    runs from `test_dir/<slot>/`, with the repository root first on PYTHONPATH (as when run from the root) and
    string hashing fixed (PYTHONHASHSEED=0: a printed set of strings keeps one order on every subject, so equal
    behaviour gives equal output); issue-derived tests and commands that do not name their file are left as
    they are."""
    if test.origin != "candidate":
        return test.path, test.command
    try:
        words = shlex.split(test.command)
    except ValueError:
        return test.path, test.command
    if test.path not in words:
        return test.path, test.command
    moved = f"{test_dir.rstrip('/')}/{slot}/{test.path.rsplit('/', 1)[-1]}"
    command = shlex.join(moved if w == test.path else w for w in words)
    return moved, f'PYTHONHASHSEED=0 PYTHONPATH="$PWD${{PYTHONPATH:+:$PYTHONPATH}}" {command}'


def _fingerprint(env: Env) -> str:
    """A hash of the work tree's state (tracked edits + new non-ignored files), to detect tests that change it."""
    return env.execute(_FINGERPRINT, timeout=120).output


def _status(exit_code: int | None, timed_out: bool) -> CellStatus:
    if timed_out:
        return "timeout"
    if exit_code == 0:
        return "pass"
    return "fail" if exit_code == 2 else "error"


class _Subject:
    """One subject's run on one leased Env; `renew` replaces an Env a test broke."""

    def __init__(self, env: Env, pool: EnvPool, subject: str, patch: str, cfg: ExecutionConfig) -> None:
        self.env, self.pool, self.subject, self.patch, self.cfg = env, pool, subject, patch, cfg

    def renew(self, why: str) -> str:
        self.env = self.pool.renew(self.env)
        return f"the environment was unusable after this test ({why}); a fresh one was started"

    def reapply(self, test_paths: set[str], cells: list[Cell]) -> None:
        """Reset and apply the patch again; an Env the previous test broke is replaced first (noted on its cell)."""
        try:
            again, _ = _prepare(self.env, self.patch, self.cfg, test_paths)
        except EnvError as exc:
            note = self.renew(str(exc)[:200])
            if cells:
                cells[-1].note = note
            again, _ = _prepare(self.env, self.patch, self.cfg, test_paths)
        if again:
            raise ExecutionError(f"{self.subject}: the patch applied once but not after a reset ({again})")

    def run(
        self, tests: Sequence[ReproTest], tick: Callable[[], None]
    ) -> tuple[list[Cell], str | None, list[str]]:
        """All tests on this subject; the patch is applied once up front (so a subject without tests is still
        checked) and again after every reset (every cell with isolation="cell", else only after a test that
        changed the work tree or broke the environment)."""
        cfg = self.cfg
        test_paths = {t.path for t in tests}
        cells: list[Cell] = []
        why, stripped = _prepare(self.env, self.patch, cfg, test_paths)
        if why:
            for t in tests:
                cells.append(Cell(self.subject, t.test_id, "not_run", tail=why))
                tick()
            self.env.reset()
            return cells, why, stripped
        clean = _fingerprint(self.env) if cfg.isolation == "checked" else ""
        dirty = False
        for i, test in enumerate(tests):
            if i and (cfg.isolation == "cell" or dirty):
                self.reapply(test_paths, cells)
                clean = _fingerprint(self.env) if cfg.isolation == "checked" else ""
            path, command = placement(test, i, cfg.test_dir)
            try:
                self.env.write_file(path, test.content)
                out = self.env.execute(command, timeout=cfg.test_timeout)
            except EnvError as exc:
                cells.append(Cell(self.subject, test.test_id, "error", tail=str(exc)[-cfg.output_tail :]))
                cells[-1].note = self.renew(str(exc)[:200])
                dirty = True
                tick()
                continue
            seen = observe(out.output, out.exit_code, out.timed_out, out.truncated)
            cells.append(
                Cell(
                    self.subject,
                    test.test_id,
                    _status(out.exit_code, out.timed_out),
                    out.exit_code,
                    out.duration,
                    _tail(out.output, cfg.output_tail),
                    out.timed_out,
                    seen.digest,
                    seen.excerpt,
                    seen.exception,
                    seen.marker,
                    seen.truncated,
                )
            )
            tick()
            if cfg.isolation == "checked":
                try:
                    self.env.execute(f"rm -f -- {shlex.quote(path)}", timeout=30)
                    dirty = _fingerprint(self.env) != clean
                except EnvError:
                    dirty = True  # the next reapply replaces the Env and notes it on this cell
        try:
            self.env.reset()
        except EnvError as exc:
            note = self.renew(str(exc)[:200])
            if cells:
                cells[-1].note = note
        return cells, None, stripped


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
    scratch: dict[str, list[str]] = {}
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

            def work(subject: str) -> tuple[str, list[Cell], str | None, list[str]]:
                with pool.lease() as env:
                    try:
                        got, why, stripped = _Subject(env, pool, subject, patches[subject], config).run(
                            tests, tick
                        )
                    except EnvError as exc:
                        raise ExecutionError(
                            f"the environment failed while running tests on {subject}: {exc} "
                            "(check the engine/image, or run with --no-exec)"
                        ) from exc
                return subject, got, why, stripped

            with ThreadPoolExecutor(max_workers=min(config.workers, len(order))) as ex:
                for subject, got, why, stripped in ex.map(work, order):
                    cells.update({(c.subject, c.test_id): c for c in got})
                    if why:
                        failures[subject] = why
                    if stripped:
                        scratch[subject] = stripped
    matrix = PassMatrix(list(tests), order, cells, failures, stripped=scratch)
    matrix.kept = [t.test_id for t in tests if (c := matrix.cell(ORIGINAL, t.test_id)) and c.status == "fail"]
    applying = matrix.applying()
    matrix.distinguishing = [
        t for t in matrix.kept if len({bool(matrix.row(s, [t])[0]) for s in applying}) > 1
    ]
    return matrix
