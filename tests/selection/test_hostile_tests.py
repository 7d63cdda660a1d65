"""Real agents' tests are hostile: they hang, print megabytes, delete files or the repository itself, share names
with each other and with repository files, and ride inside candidates' patches. Each is a recorded outcome of its
cell, never a crash of the selection; in real temporary git repositories (LocalEnv) and in real containers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.envs.protocol import Env
from patchjury.records import Candidate, TestFile
from patchjury.selection.config import ExecutionConfig, SelectionConfig
from patchjury.selection.env_pool import EnvPool
from patchjury.selection.evidence import ExecutionEvidence
from patchjury.selection.execution import run_pass_matrix
from patchjury.selection.pass_matrix import ORIGINAL, PassMatrix, collect_tests

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo

SCRIPT_OWN = "from textutil import slugify\nprint('own copy:', slugify('a  b'))\n"
SCRIPT_TEST = "from textutil import slugify\nprint('the test:', slugify('a  b'))\n"


def _with_own_script(patch: str) -> str:
    """The `good` fix plus its own `reproduce.py` as a new file, as SWE-agent submitted them."""
    body = "".join(f"+{line}\n" for line in SCRIPT_OWN.splitlines())
    return patch + (
        "diff --git a/reproduce.py b/reproduce.py\nnew file mode 100644\n--- /dev/null\n+++ b/reproduce.py\n"
        f"@@ -0,0 +1,{len(SCRIPT_OWN.splitlines())} @@\n{body}"
    )


def _hostile(python: str) -> list[TestFile]:
    def t(path: str, body: str) -> TestFile:
        return TestFile(path=path, content=body, command=f"{python} {path}")

    return [
        t("reproduce.py", SCRIPT_TEST),  # the same name as a candidate's own scratch copy
        t("textutil.py", "print('I am a test named like the module under test')\n"),  # names a repo file
        t("hang.py", "import time\nprint('start', flush=True)\ntime.sleep(600)\n"),
        t(
            "flood.py",
            "import sys\nfor i in range(200000):\n    sys.stdout.write('line %d of noise\\n' % i)\n",
        ),
        t(
            "wipe.py",
            "import os, shutil\nfor e in os.listdir('.'):\n"
            "    if e != '.git':\n        shutil.rmtree(e) if os.path.isdir(e) else os.remove(e)\n",
        ),
        t("check_tree.py", "from textutil import slugify\nprint('tree ok:', slugify('a  b'))\n"),
        t(
            "kill_git.py",
            "import os, shutil\nshutil.rmtree('.git') if os.path.isdir('.git') else os.remove('.git')\n",
        ),
        t("after.py", "from textutil import slugify\nprint('after:', slugify('a  b'))\n"),
    ]


def _run(tmp_path: Path, factory_of: Callable[[Path, str], Callable[[], Env]], python: str) -> PassMatrix:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    cands = [
        Candidate(instance_id="i", candidate_id="good", model_patch=_with_own_script(patches["good"])),
        Candidate(
            instance_id="i", candidate_id="author", model_patch=patches["partial"], tests=_hostile(python)
        ),
    ]
    subjects = {c.candidate_id: c.model_patch for c in cands}
    cfg = ExecutionConfig(workers=1, test_timeout=5)
    with EnvPool(factory_of(repo, sha), 1) as pool:
        return run_pass_matrix(collect_tests(cands), subjects, pool, cfg, progress=False)


def _check(m: PassMatrix) -> None:
    def cell(subject: str, name: str):  # type: ignore[no-untyped-def]
        got = m.cell(subject, f"author/{name}")
        assert got is not None, (subject, name)
        return got

    # the candidate's own copy of the script is stripped before applying, and recorded
    assert m.stripped == {"good": ["reproduce.py"]}
    assert "the test: a-b" in cell("good", "reproduce.py").excerpt
    assert "the test: a--b" in cell(ORIGINAL, "reproduce.py").excerpt
    # a test named like a repository file runs beside it, never over it
    assert "I am a test" in cell(ORIGINAL, "textutil.py").excerpt
    for subject in (ORIGINAL, "good", "author"):
        hang = cell(subject, "hang.py")
        assert hang.status == "timeout" and hang.timed_out and "start" in hang.excerpt
        flood = cell(subject, "flood.py")
        assert flood.status == "pass" and flood.truncated
        # files deleted by the previous test are back: the tree and the patch are restored
        assert cell(subject, "check_tree.py").status == "pass"
        # a test that deletes the repository's git data breaks the environment: noted, replaced, the run goes on
        assert "a fresh one was started" in cell(subject, "kill_git.py").note
        assert cell(subject, "after.py").status == "pass"
    assert cell(ORIGINAL, "flood.py").digest == cell("author", "flood.py").digest
    assert "after: a-b" in cell("good", "after.py").excerpt
    assert "after: a--b" in cell(ORIGINAL, "after.py").excerpt
    assert not m.apply_failures
    # and the explanation says so, per test, naming the subjects (the pass matrix alone shows "pass")
    section = "\n".join(ExecutionEvidence(m, SelectionConfig()).section())
    assert "- author/hang.py: timed out and was killed on original, good, author" in section
    assert (
        "- author/flood.py: printed more output than is kept: cut to its head and tail on original" in section
    )
    assert "author/kill_git.py: the environment was unusable after this test" in section
    assert "a fresh one was started on original, good, author" in section
    assert any(
        "did not run normally" in n and "author/hang.py" in n and "author/kill_git.py" in n
        for n in ExecutionEvidence(m, SelectionConfig(), own=len(m.tests)).notes()
    )


def _local(repo: Path, sha: str) -> Callable[[], Env]:
    return lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha))


@pytest.mark.slow
def test_hostile_tests_in_local_checkouts(tmp_path: Path) -> None:
    m = _run(tmp_path, _local, sys.executable)
    _check(m)
    head = subprocess.run(
        ["git", "-C", str(tmp_path / "slugrepo"), "status", "--porcelain"], capture_output=True
    )
    assert head.stdout == b""  # the user's repository was never touched


@pytest.mark.docker
@pytest.mark.slow
def test_hostile_tests_in_containers(tmp_path: Path, base_image: str) -> None:
    from patchjury.envs.config import DockerEnvConfig
    from patchjury.envs.registry import make_env

    def docker(repo: Path, sha: str) -> Callable[[], Env]:
        return lambda: make_env(DockerEnvConfig(image=base_image, source_repo=repo, commit=sha))

    _check(_run(tmp_path, docker, "python3"))


def test_string_sets_print_in_one_order_on_every_subject(tmp_path: Path) -> None:
    """Python randomizes string hashing per process: a printed set of strings would differ between runs of the
    same behaviour. Tests run with PYTHONHASHSEED=0, so equal behaviour gives one digest."""
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    words = ", ".join(repr(f"word{i}") for i in range(12))
    test = TestFile(path="sets.py", content=f"print({{{words}}})\n", command=f"{sys.executable} sets.py")
    cands = [
        Candidate(instance_id="i", candidate_id=n, model_patch=patches[n], tests=[test])
        for n in ("good", "partial")
    ]
    with EnvPool(_local(repo, sha), 1) as pool:
        m = run_pass_matrix(
            collect_tests(cands),
            {c.candidate_id: c.model_patch for c in cands},
            pool,
            ExecutionConfig(workers=1),
            progress=False,
        )
    digests = {m.cell(s, "good/sets.py").digest for s in (ORIGINAL, "good", "partial")}  # type: ignore[union-attr]
    assert len(digests) == 1
