"""The pass matrix on a real temporary git repository with LocalEnv (and one Docker variant)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.envs.protocol import Env
from patchjury.records import Candidate, TestFile
from patchjury.selection.cluster import cluster_candidates
from patchjury.selection.config import ExecutionConfig
from patchjury.selection.env_pool import EnvPool
from patchjury.selection.errors import ExecutionError
from patchjury.selection.execution import run_pass_matrix
from patchjury.selection.pass_matrix import ORIGINAL, collect_tests

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo


def _subjects(cands: list[Candidate]) -> dict[str, str]:
    clusters, dropped = cluster_candidates(cands)
    assert not dropped
    by_id = {c.candidate_id: c for c in cands}
    return {cl.members[0]: by_id[cl.members[0]].model_patch for cl in clusters}


class CountingFactory:
    """Makes LocalEnvs and counts them (each worker owns one)."""

    def __init__(self, repo: Path, commit: str) -> None:
        self.repo, self.commit, self.made = repo, commit, 0

    def __call__(self) -> Env:
        self.made += 1
        return LocalEnv(LocalEnvConfig(repo=self.repo, commit=self.commit))


def test_pass_matrix_keeps_reproducing_tests_and_marks_distinguishing(tmp_path: Path) -> None:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    cands = jury_repo.candidates(patches, python=sys.executable)
    tests = collect_tests(cands)
    # good and good_dup wrote the identical test: one column, two authors
    assert [t.test_id for t in tests] == [
        "good/repro_collapse.py",
        "partial/repro_strip.py",
        "wrong/repro_broken.py",
        "stale/repro_green.py",
    ]
    assert tests[0].authors == ["good", "good_dup"]
    subjects = _subjects(cands)
    assert list(subjects) == ["good", "partial", "wrong", "stale"]  # good_dup shares good's cluster: run once
    factory = CountingFactory(repo, sha)
    with EnvPool(factory, 2) as pool:
        m = run_pass_matrix(
            tests, subjects, pool, ExecutionConfig(workers=2, test_timeout=60), progress=False
        )
    assert factory.made == 2
    assert m.subjects == [ORIGINAL, "good", "partial", "wrong", "stale"]
    assert len(m.cells) == 5 * 4
    assert m.kept == ["good/repro_collapse.py", "partial/repro_strip.py"]
    assert m.distinguishing == ["good/repro_collapse.py", "partial/repro_strip.py"]
    assert m.apply_failures.keys() == {"stale"}
    assert "does not apply" in m.apply_failures["stale"]
    assert m.row("good") == [True, True]
    assert m.row("partial") == [False, True]
    assert m.row("wrong") == [False, False]
    broken = m.cell("good", "wrong/repro_broken.py")
    assert broken is not None and broken.status == "error" and broken.exit_code == 1
    green = m.cell(ORIGINAL, "stale/repro_green.py")
    assert green is not None and green.status == "pass"
    reproduced = m.cell(ORIGINAL, "good/repro_collapse.py")
    assert reproduced is not None and reproduced.status == "fail" and reproduced.exit_code == 2
    assert all(c.status == "not_run" for (s, _), c in m.cells.items() if s == "stale")


class ResetCountingEnv:
    """A LocalEnv that counts its resets (a fake wrapper, not a mock)."""

    def __init__(self, inner: Env) -> None:
        self.inner, self.resets, self.workdir = inner, 0, inner.workdir

    def reset(self) -> None:
        self.resets += 1
        self.inner.reset()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize("isolation", ["checked", "cell"])
def test_clean_tests_share_one_applied_patch_unless_cell_isolation(tmp_path: Path, isolation: str) -> None:
    repo, sha, _ = jury_repo.make_repo(tmp_path)
    quiet = [
        TestFile(path=f"q{i}.py", content="import sys\nsys.exit(0)\n", command=f"{sys.executable} q{i}.py")
        for i in range(3)
    ]
    tests = collect_tests([Candidate(instance_id="i", candidate_id="a", model_patch="", tests=quiet)])
    envs: list[ResetCountingEnv] = []

    def factory() -> Env:
        envs.append(ResetCountingEnv(LocalEnv(LocalEnvConfig(repo=repo, commit=sha))))
        return envs[-1]  # type: ignore[return-value]

    with EnvPool(factory, 1) as pool:
        m = run_pass_matrix(tests, {}, pool, ExecutionConfig(workers=1, isolation=isolation), progress=False)  # type: ignore[arg-type]
    assert all(m.cell(ORIGINAL, t.test_id).status == "pass" for t in tests)  # type: ignore[union-attr]
    # one reset to prepare the subject and one after it; `cell` adds one per further test
    assert envs[0].resets == (2 if isolation == "checked" else 2 + len(tests) - 1)


@pytest.mark.parametrize("isolation", ["checked", "cell"])
def test_cells_are_isolated_by_reset(tmp_path: Path, isolation: str) -> None:
    repo, sha, _ = jury_repo.make_repo(tmp_path)
    leave = TestFile(
        path="leave.py", content="open('junk.txt', 'w').write('x')\n", command=f"{sys.executable} leave.py"
    )
    check = TestFile(
        path="check.py",
        content="import os, sys\nsys.exit(2 if os.path.exists('junk.txt') or os.path.exists('leave.py') else 0)\n",
        command=f"{sys.executable} check.py",
    )
    tests = collect_tests(
        [Candidate(instance_id="i", candidate_id="a", model_patch="", tests=[leave, check])]
    )
    with EnvPool(CountingFactory(repo, sha), 1) as pool:
        m = run_pass_matrix(tests, {}, pool, ExecutionConfig(workers=1, isolation=isolation), progress=False)  # type: ignore[arg-type]
    cell = m.cell(ORIGINAL, "a/check.py")
    assert cell is not None and cell.status == "pass", cell


def test_timeout_marks_the_cell(tmp_path: Path) -> None:
    repo, sha, _ = jury_repo.make_repo(tmp_path)
    slow = TestFile(
        path="slow.py", content="import time\ntime.sleep(60)\n", command=f"{sys.executable} slow.py"
    )
    tests = collect_tests([Candidate(instance_id="i", candidate_id="a", model_patch="", tests=[slow])])
    with EnvPool(CountingFactory(repo, sha), 1) as pool:
        m = run_pass_matrix(tests, {}, pool, ExecutionConfig(workers=1, test_timeout=1), progress=False)
    cell = m.cell(ORIGINAL, "a/slow.py")
    assert cell is not None and cell.status == "timeout"
    assert m.kept == []


def test_reserved_subject_name_and_env_failure_are_clear_errors(tmp_path: Path) -> None:
    repo, sha, _ = jury_repo.make_repo(tmp_path)
    with EnvPool(CountingFactory(repo, sha), 1) as pool, pytest.raises(ExecutionError, match="reserved"):
        run_pass_matrix([], {ORIGINAL: "x"}, pool, ExecutionConfig(), progress=False)

    def broken() -> Env:
        return LocalEnv(LocalEnvConfig(repo=tmp_path / "missing", commit="HEAD"))

    with EnvPool(broken, 1) as pool, pytest.raises(ExecutionError, match="--no-exec"):
        run_pass_matrix([], {"a": "x"}, pool, ExecutionConfig(), progress=False)


@pytest.mark.docker
@pytest.mark.slow
def test_pass_matrix_in_docker(tmp_path: Path, base_image: str) -> None:
    from patchjury.envs.config import DockerEnvConfig
    from patchjury.envs.registry import make_env

    repo, sha, patches = jury_repo.make_repo(tmp_path)
    cands = jury_repo.candidates(patches, python="python3")
    subjects = _subjects(cands)

    def factory() -> Env:
        return make_env(DockerEnvConfig(image=base_image, source_repo=repo, commit=sha))

    with EnvPool(factory, 2) as pool:
        m = run_pass_matrix(collect_tests(cands), subjects, pool, ExecutionConfig(workers=2), progress=False)
    assert m.kept == ["good/repro_collapse.py", "partial/repro_strip.py"]
    assert m.distinguishing == m.kept
    assert (
        m.row("good") == [True, True]
        and m.row("partial") == [False, True]
        and m.row("wrong") == [False, False]
    )
    assert set(m.apply_failures) == {"stale"}


def test_the_moved_names_are_still_importable_from_selection_execution() -> None:
    """The records moved to selection.pass_matrix and the pool to selection.env_pool; the old module re-exports
    them, so callers importing from selection.execution keep working."""
    from patchjury.selection import env_pool, execution, pass_matrix

    for name in ("ORIGINAL", "CellStatus", "ReproTest", "Cell", "PassMatrix", "collect_tests"):
        assert getattr(execution, name) is getattr(pass_matrix, name), name
    assert execution.EnvPool is env_pool.EnvPool
    assert {"EnvFactory", "placement", "run_pass_matrix"} <= set(execution.__all__)
