"""Sandboxes as issue 15 (item 8) wants them, checked from inside real containers: an unprivileged user where the
image has one, no capabilities, no new privileges, a read-only root filesystem when asked; and a leftover sweep
that never removes another host's containers on a shared engine (a real second pid namespace stands in for the
other host). Every container here carries this test's own run label: other users of the engine are not touched.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from patchjury.envs import cleanup
from patchjury.envs.config import DockerEnvConfig
from patchjury.envs.docker import DockerEnv
from patchjury.envs.images import build_env_image
from patchjury.envs.sweep import LABEL_OWNER, docker_client, managed_labels, sweep_containers

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def _status(env: DockerEnv) -> dict[str, str]:
    out = env.execute("cat /proc/self/status").output
    return dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)


def _exists(cid: str) -> bool:
    return subprocess.run(["docker", "container", "inspect", cid], capture_output=True).returncode == 0


def test_agent_sandbox_is_unprivileged(base_image: str, sample_repo: Path) -> None:
    with DockerEnv(DockerEnvConfig(image=base_image, source_repo=sample_repo)) as env:
        assert env.execute("id -un; id -u").output.split() == ["patchjury", "1000"]
        status = _status(env)
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0  # --cap-drop ALL
        assert status["NoNewPrivs"].strip() == "1"
        assert env.execute("stat -c %u pkg/calc.py .git/HEAD").output.split() == ["1000", "1000"]
        assert env.execute("touch /etc/pj-test").exit_code != 0  # the system belongs to root
        env.write_file("pkg/calc.py", "def add(a, b):\n    return a + b + 1\n")
        env.execute("echo new > NEW.txt")
        assert "+    return a + b + 1" in env.diff() and "NEW.txt" in env.diff()
        env.reset()
        assert env.diff() == ""


@pytest.mark.parametrize("use_runner", [True, False], ids=["runner", "archive-api"])
def test_read_only_root_leaves_work_tree_tmp_and_home_writable(
    base_image: str, sample_repo: Path, use_runner: bool
) -> None:
    cfg = DockerEnvConfig(
        image=base_image, source_repo=sample_repo, read_only_root=True, use_runner=use_runner
    )
    with DockerEnv(cfg) as env:
        # files move through the runner, or through the engine's archive API (which cannot see tmpfs mounts)
        env.write_file("/tmp/scratch/note.txt", "in tmp\n")
        assert env.read_file("/tmp/scratch/note.txt") == "in tmp\n"
        denied = env.execute("touch /usr/local/pj-test")
        assert denied.exit_code != 0 and "Read-only file system" in denied.output
        assert env.execute("touch /tmp/a ~/b .pytest-scratch && echo ok").output.strip() == "ok"
        assert env.execute("python3 -c 'import tempfile; print(tempfile.mkdtemp())'").exit_code == 0
        env.write_file("pkg/calc.py", "def add(a, b):\n    return 0\n")
        assert "+    return 0" in env.diff()
        env.reset()
        assert env.diff() == "" and env.execute("test -e .pytest-scratch").exit_code == 1


def test_root_in_an_image_without_sandbox_user_has_no_capabilities(
    base_image: str, sample_repo: Path
) -> None:
    with DockerEnv(DockerEnvConfig(image=base_image, source_repo=sample_repo, user="root")) as env:
        assert env.execute("id -u").output.strip() == "0"
        assert int(_status(env)["CapEff"], 16) == 0
        # root without CAP_DAC_OVERRIDE/CAP_CHOWN: its own files only
        assert env.execute("chown 1000 pkg/calc.py").exit_code != 0
        assert env.execute("cat /home/patchjury/.pj 2>&1; touch /home/patchjury/x").exit_code != 0
        env.write_file("pkg/calc.py", "x = 1\n")
        assert "+x = 1" in env.diff()


@pytest.mark.slow
def test_env_image_gives_work_tree_and_virtualenv_to_the_sandbox_user(
    base_image: str, sample_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATCHJURY_CACHE", str(tmp_path / "cache"))
    setup = ["python3 -m venv --without-pip /opt/venv", "mkdir -p build && echo x > build/out"]
    path = {"PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"}
    tag = build_env_image(base_image, sample_repo, "HEAD", setup, env=path, ca_bundle=None)
    try:
        with DockerEnv(DockerEnvConfig(image=tag)) as env:
            assert env.execute("id -un").output.strip() == "patchjury"
            owners = env.execute(
                "stat -c %U /testbed /testbed/pkg/calc.py /testbed/build/out /opt/venv/bin"
            ).output
            assert owners.split() == ["patchjury"] * 4
            assert env.execute("stat -c %U /usr/lib").output.strip() == "root"
            assert env.execute("touch /opt/venv/lib/installed-by-agent && echo ok").output.strip() == "ok"
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


# -- the leftover sweep on a shared engine -------------------------------------------------------------------

_MAKE_AND_DIE = textwrap.dedent(
    """
    import os, sys
    from patchjury.envs.sweep import docker_client, managed_labels
    client = docker_client()
    c = client.containers.run({image!r}, entrypoint=["sleep", "infinity"], command=[], detach=True,
                              labels=managed_labels("env", {run!r}))
    print(c.id, flush=True)
    os.kill(os.getpid(), 9)  # a crash: no cleanup runs
    """
)


def _orphan(image: str, run: str, other_host: bool) -> str:
    """A container whose owner process died without cleanup; `other_host`: the owner lived in another pid
    namespace (as a process on another machine or container sharing this engine does)."""
    code = _MAKE_AND_DIE.format(image=image, run=run)
    prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if other_host else []
    proc = subprocess.run([*prefix, sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    cid = proc.stdout.strip()
    assert cid and _exists(cid), proc.stderr[-2000:]
    return cid


def test_sweep_never_removes_another_hosts_containers(base_image: str) -> None:
    run = f"test-sweep-hosts-{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    try:
        foreign = _orphan(base_image, run, other_host=True)
        made.append(foreign)
        owner = docker_client().api.inspect_container(foreign)["Config"]["Labels"][LABEL_OWNER]
        key, pid, _ = owner.split(":")
        assert key != cleanup.host_key()
        # its pid means nothing here (in its namespace it was pid 1 or 2, which are alive here, with another
        # start time): a hostname:pid owner would have been judged dead and removed
        assert int(pid) <= 3
        ours = _orphan(base_image, run, other_host=False)
        made.append(ours)
        legacy = docker_client().containers.run(
            base_image,
            entrypoint=["sleep", "infinity"],
            command=[],
            detach=True,
            labels=managed_labels("env", run) | {LABEL_OWNER: f"{socket.gethostname()}:999999:1"},
        )
        made.append(legacy.id or "")
        assert sweep_containers(run_id=run) == [ours]
        assert _exists(foreign) and _exists(legacy.id or "") and not _exists(ours)
        assert set(sweep_containers(run_id=run, older_than_s=0)) == {foreign, legacy.id}
    finally:
        for cid in made:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def test_host_key_is_stable_and_stored_per_install(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    code = "from patchjury.envs import cleanup; print(cleanup.host_key())"
    keys = [
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True).stdout
        for _ in range(2)
    ]
    assert keys[0] == keys[1] and len(keys[0].strip()) == 16
    assert (tmp_path / "state" / "patchjury" / "install-id").read_text().strip()
    other = {**env, "XDG_STATE_HOME": str(tmp_path / "other")}
    third = subprocess.run([sys.executable, "-c", code], env=other, cwd=ROOT, capture_output=True, text=True)
    assert third.stdout != keys[0]  # another install (another user, another machine's clone): another key
