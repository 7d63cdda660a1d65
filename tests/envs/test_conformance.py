"""One Env conformance suite, run against every backend (local, docker)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from patchjury.envs.base import GitCheckoutEnv
from patchjury.envs.config import DockerEnvConfig, LocalEnvConfig
from patchjury.envs.errors import EnvClosedError, EnvFileError
from patchjury.envs.patching import apply_patch
from patchjury.envs.protocol import Env
from patchjury.envs.registry import make_env

LIMIT = 2000
EnvFactory = Callable[..., GitCheckoutEnv]


def _local(repo: Path, request: pytest.FixtureRequest, **kw: Any) -> GitCheckoutEnv:
    env = make_env(LocalEnvConfig(repo=repo, output_limit=LIMIT, **kw))
    assert isinstance(env, GitCheckoutEnv)
    return env


def _docker(repo: Path, request: pytest.FixtureRequest, **kw: Any) -> GitCheckoutEnv:
    image = request.getfixturevalue("base_image")
    env = make_env(DockerEnvConfig(image=image, source_repo=repo, output_limit=LIMIT, **kw))
    assert isinstance(env, GitCheckoutEnv)
    return env


def _docker_exec(repo: Path, request: pytest.FixtureRequest, **kw: Any) -> GitCheckoutEnv:
    """Docker without the in-container runner: every command is a plain `docker exec`."""
    return _docker(repo, request, use_runner=False, **kw)


def _gone(env: GitCheckoutEnv) -> bool:
    """True when everything the Env held was released."""
    if env.__class__.__name__ == "DockerEnv":
        cid = env.container_id  # type: ignore[attr-defined]
        run = subprocess.run(["docker", "container", "inspect", cid], capture_output=True)
        return run.returncode != 0
    return not Path(env.workdir).exists()


BACKENDS = {"local": _local, "docker": _docker, "docker-exec": _docker_exec}


@pytest.fixture(
    params=[
        "local",
        pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.slow]),
        pytest.param("docker-exec", marks=[pytest.mark.docker, pytest.mark.slow]),
    ]
)
def new_env(request: pytest.FixtureRequest, sample_repo: Path) -> Iterator[Callable[..., GitCheckoutEnv]]:
    """Factory: new_env(**config overrides) -> a started Env on the sample repo; all closed at teardown."""
    made: list[GitCheckoutEnv] = []

    def factory(repo: Path | None = None, **kw: Any) -> GitCheckoutEnv:
        env = BACKENDS[request.param](repo or sample_repo, request, **kw)
        made.append(env)
        return env

    yield factory
    for env in made:
        env.close()


@pytest.fixture
def env(new_env: Callable[..., GitCheckoutEnv]) -> GitCheckoutEnv:
    return new_env()


def test_implements_protocol_and_records_base(env: GitCheckoutEnv, sample_repo: Path) -> None:
    assert isinstance(env, Env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=sample_repo, capture_output=True, text=True)
    assert env.base_commit == head.stdout.strip()
    assert env.read_file("pkg/calc.py").startswith("def add")


def test_exit_codes_and_output(env: GitCheckoutEnv) -> None:
    ok = env.execute("echo out; echo err >&2")
    assert ok.exit_code == 0 and ok.ok and not ok.timed_out
    assert "out" in ok.output and "err" in ok.output
    bad = env.execute("echo before; exit 7")
    assert bad.exit_code == 7 and not bad.ok and "before" in bad.output
    missing = env.execute("no-such-command-xyz")
    assert missing.exit_code == 127


def test_cwd_and_bash(env: GitCheckoutEnv) -> None:
    assert env.execute("pwd").output.strip() == env.workdir
    assert env.execute("pwd", cwd="pkg").output.strip() == env.workdir + "/pkg"
    assert env.execute("arr=(x y z); echo ${#arr[@]}").output.strip() == "3"
    missing = env.execute("pwd", cwd="no/such/dir")
    assert missing.exit_code == 126 and not missing.ok


def test_timeout_kills_command_and_children(env: GitCheckoutEnv) -> None:
    pidfile = "/tmp/pj-conformance-child.pid"
    res = env.execute(f"sleep 300 & echo $! > {pidfile}; wait", timeout=1)
    assert res.timed_out
    assert res.exit_code in (124, 137)
    check = env.execute(
        f"pid=$(cat {pidfile}); for i in $(seq 100); do "
        f'if ! kill -0 $pid 2>/dev/null || grep -q "^State:.*Z" /proc/$pid/status 2>/dev/null; then exit 0; fi; '
        "sleep 0.1; done; exit 1"
    )
    assert check.exit_code == 0, "the sleeping child survived the timeout"
    assert env.execute("echo alive").output.strip() == "alive"


def test_output_truncated_head_and_tail(env: GitCheckoutEnv) -> None:
    res = env.execute("echo HEAD-MARK; head -c 200000 /dev/zero | tr '\\0' a; echo; echo TAIL-MARK")
    assert res.truncated
    assert res.output.startswith("HEAD-MARK")
    assert res.output.rstrip().endswith("TAIL-MARK")
    assert "characters elided" in res.output
    assert len(res.output) < LIMIT + 100
    small = env.execute("echo short")
    assert not small.truncated and small.output == "short\n"


def test_undecodable_and_unicode_output(env: GitCheckoutEnv) -> None:
    res = env.execute("printf 'bad \\377\\376 good \\342\\234\\223 done\\n'")
    assert res.exit_code == 0
    assert "\ufffd" in res.output and "✓" in res.output and "done" in res.output


def test_read_write_files(env: GitCheckoutEnv) -> None:
    text = "héllo ✓ 世界\nline2\n\ttabs and 'quotes' \"double\" $dollar `tick`\n"
    env.write_file("deep/nested/dir/ünï.txt", text)
    assert env.read_file("deep/nested/dir/ünï.txt") == text
    assert env.read_file(env.workdir + "/deep/nested/dir/ünï.txt") == text
    assert env.execute("cat 'deep/nested/dir/ünï.txt' | wc -l").output.strip() == "3"
    env.write_file("pkg/calc.py", "overwritten\n")
    assert env.read_file("pkg/calc.py") == "overwritten\n"
    big = "".join(f"{i:07d} {'x' * 90}\n" for i in range(40_000))  # ~4 MB
    env.write_file("/tmp/pj-big.txt", big)
    assert env.read_file("/tmp/pj-big.txt") == big
    env.write_file("empty.txt", "")
    assert env.read_file("empty.txt") == ""
    with pytest.raises(EnvFileError):
        env.read_file("does/not/exist.txt")
    with pytest.raises(OSError):  # EnvFileError is an OSError
        env.read_file("pkg")


def test_diff_includes_new_files_and_honours_exclude(env: GitCheckoutEnv) -> None:
    assert env.diff() == ""
    env.write_file("pkg/calc.py", env.read_file("pkg/calc.py").replace("a + b", "b + a"))
    env.write_file("pkg/new_mod.py", "VALUE = 1\n")
    env.write_file("tests/test_repro.py", "def test_x():\n    assert False\n")
    env.write_file("debug.log", "ignored by .gitignore\n")
    env.execute("mkdir -p pkg/__pycache__ && echo junk > pkg/__pycache__/calc.cpython-311.pyc")
    env.execute("git rm -q README.md")
    full = env.diff()
    assert "b/pkg/calc.py" in full and "+    return b + a" in full
    assert "b/pkg/new_mod.py" in full and "+VALUE = 1" in full
    assert "b/tests/test_repro.py" in full
    assert "a/README.md" in full and "deleted file" in full
    assert "debug.log" not in full and "__pycache__" not in full
    part = env.diff(exclude=["tests/test_repro.py"])
    assert "test_repro" not in part and "b/pkg/new_mod.py" in part
    assert "pkg" not in env.diff(exclude=["pkg", env.workdir + "/tests", "README.md"])
    # diff() works on a temporary index: the real index (what the agent staged) is untouched.
    assert env.execute("git diff --cached --name-only").output.strip() == "README.md"


def test_diff_applies_to_fresh_env(new_env: Callable[..., GitCheckoutEnv]) -> None:
    first = new_env()
    first.write_file("pkg/calc.py", "def add(a, b):\n    return a + b + 0\n")
    first.write_file("docs/ünicode.md", "ü\n")
    patch = first.diff()
    second = new_env()
    result = apply_patch(second, patch)
    assert result.applied, result.output
    assert second.diff() == patch


def test_reset_restores_base(env: GitCheckoutEnv) -> None:
    original = env.read_file("pkg/calc.py")
    env.write_file("pkg/calc.py", "broken\n")
    env.write_file("brand/new.py", "x = 1\n")
    env.write_file("build/out.txt", "ignored build product\n")
    env.execute("git add -A && git -c user.name=a -c user.email=a@b commit -qm agent-commit")
    env.execute("git checkout -q -b agent-branch")
    env.reset()
    assert env.diff() == ""
    assert env.read_file("pkg/calc.py") == original
    assert env.execute("test -e brand/new.py || test -e build/out.txt").exit_code == 1
    assert env.execute("git rev-parse HEAD").output.strip() == env.base_commit
    env.write_file("again.txt", "works after reset\n")
    assert "again.txt" in env.diff()


def test_close_is_idempotent_and_releases(new_env: Callable[..., GitCheckoutEnv]) -> None:
    env = new_env()
    with env as same:
        assert same is env
        assert same.execute("true").ok
    assert env.closed and _gone(env)
    env.close()
    with pytest.raises(EnvClosedError):
        env.execute("true")
    with pytest.raises(EnvClosedError):
        env.read_file("README.md")


def test_env_vars_and_default_timeout(new_env: Callable[..., GitCheckoutEnv]) -> None:
    env = new_env(env={"PJ_TEST_VAR": "x y ü"}, default_timeout=1)
    assert env.execute('echo "$PJ_TEST_VAR"').output.strip() == "x y ü"
    assert env.execute("sleep 20").timed_out


def test_non_head_commit(new_env: Callable[..., GitCheckoutEnv], sample_repo: Path) -> None:
    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=sample_repo, capture_output=True, text=True)
    (sample_repo / "later.txt").write_text("later\n")
    subprocess.run(["git", "add", "-A"], cwd=sample_repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "later"],
        cwd=sample_repo,
        check=True,
    )
    env = new_env(commit=first.stdout.strip())
    assert env.base_commit == first.stdout.strip()
    assert env.execute("test -e later.txt").exit_code == 1


def test_write_keeps_mode_and_follows_symlinks(env: GitCheckoutEnv) -> None:
    env.write_file("run.sh", "#!/bin/sh\necho one\n")
    env.execute("chmod +x run.sh && git add run.sh && git -c user.name=a -c user.email=a@b commit -qm s")
    env.write_file("run.sh", "#!/bin/sh\necho two\n")
    assert env.execute("./run.sh").output == "two\n"
    assert "mode" not in env.execute("git diff").output
    env.execute("ln -s pkg/calc.py link.py")
    assert env.read_file("link.py") == env.read_file("pkg/calc.py")
    env.write_file("link.py", "via link\n")
    assert env.read_file("pkg/calc.py") == "via link\n"
    assert env.execute("test -L link.py").exit_code == 0


def test_diff_ignores_tracked_files_that_gitignore_matches(
    new_env: Callable[..., GitCheckoutEnv], make_repo: Callable[[dict[str, str]], Path]
) -> None:
    """Tracked files matching .gitignore (flask's tests/test_apps/.env) must not show as deleted."""
    repo = make_repo({".gitignore": "*.env\n", "app.py": "X = 1\n"})
    (repo / "test_apps.env").write_text("SECRET=1\n")
    subprocess.run(["git", "add", "-f", "test_apps.env"], cwd=repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "tracked ignored"],
        cwd=repo,
        check=True,
    )
    env = new_env(repo=repo)
    assert env.diff() == ""
    env.write_file("app.py", "X = 2\n")
    patch = env.diff()
    assert "app.py" in patch
    assert "test_apps.env" not in patch
