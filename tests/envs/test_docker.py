"""Docker-only behaviour: limits, labels, no network, engine errors, sweeps, cleanup on Ctrl-C/SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from patchjury.envs import cleanup, sweep
from patchjury.envs.config import DockerEnvConfig, MountSpec
from patchjury.envs.docker import DockerEnv
from patchjury.envs.errors import EngineUnavailableError, EnvConfigError
from patchjury.envs.sweep import LABEL_OWNER, LABEL_RUN, managed_labels, sweep_containers

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def _exists(cid: str) -> bool:
    return subprocess.run(["docker", "container", "inspect", cid], capture_output=True).returncode == 0


@pytest.mark.slow
def test_limits_labels_and_no_network(base_image: str, sample_repo: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not really a certificate\n")
    cfg = DockerEnvConfig(
        image=base_image,
        source_repo=sample_repo,
        memory="256m",
        cpus=0.5,
        pids_limit=128,
        labels={"team": "envs-test"},
        mounts=[MountSpec(source=ca, target="/etc/pj-ca.pem")],
    )
    with DockerEnv(cfg) as env:
        attrs = env.client.api.inspect_container(env.container_id)
        host = attrs["HostConfig"]
        assert host["Memory"] == 256 * 1024 * 1024
        assert host["NanoCpus"] == 500_000_000
        assert host["PidsLimit"] == 128
        assert host["NetworkMode"] == "none"
        labels = attrs["Config"]["Labels"]
        assert labels["dev.patchjury.managed"] == "1" and labels["team"] == "envs-test"
        assert labels[LABEL_RUN] == sweep.process_run_id()
        assert env.execute("ls /sys/class/net").output.split() == ["lo"]
        assert env.read_file("/etc/pj-ca.pem") == "not really a certificate\n"
        assert env.execute("echo x > /etc/pj-ca.pem").exit_code != 0  # mounted read-only
        many = env.execute("for i in $(seq 200); do sleep 2 & done; wait", timeout=30)
        assert "fork" in many.output  # the pids limit stopped it
    assert not _exists(env.container_id)


def test_missing_image_and_repo_give_clear_errors(base_image: str) -> None:
    with pytest.raises(EnvConfigError, match="not found"):
        DockerEnv(DockerEnvConfig(image="patchjury/does-not-exist:nope"))
    with pytest.raises(EnvConfigError, match="no git repository at /testbed"):
        DockerEnv(DockerEnvConfig(image=base_image))


def test_engine_down_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setattr(sweep, "_client", None)
    with pytest.raises(EngineUnavailableError, match=r"at unix://.*no-docker.sock \(no such socket"):
        sweep.docker_client()


def test_sweep_removes_orphans_and_old_containers(base_image: str) -> None:
    client = sweep.docker_client()
    run = f"test-sweep-{uuid.uuid4().hex[:8]}"
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan_labels = managed_labels("env", run) | {LABEL_OWNER: f"{cleanup.host_key()}:{dead.pid}:1"}
    keep_labels = managed_labels("env", run)  # owner: this (live) process
    started = []
    try:
        for labels in (orphan_labels, keep_labels):
            c = client.containers.run(
                base_image, entrypoint=["sleep", "infinity"], command=[], detach=True, labels=labels
            )
            started.append(c.id)
        assert sweep_containers(run_id=run) == [started[0]]
        assert not _exists(started[0]) and _exists(started[1])
        assert sweep_containers(older_than_s=3600, run_id=run) == []
        assert sweep_containers(older_than_s=0, run_id=run) == [started[1]]
        assert not _exists(started[1])
    finally:
        for cid in started:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def test_first_client_of_a_process_sweeps_crashed_runs(
    base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sweep.docker_client()
    dead = subprocess.Popen(["true"])
    dead.wait()
    labels = managed_labels("env", f"test-startup-{uuid.uuid4().hex[:8]}")
    labels[LABEL_OWNER] = f"{cleanup.host_key()}:{dead.pid}:1"
    orphan = client.containers.run(
        base_image, entrypoint=["sleep", "infinity"], command=[], detach=True, labels=labels
    )
    try:
        assert _exists(orphan.id)
        monkeypatch.setattr(sweep, "_client", None)  # as in a new process
        sweep.docker_client()
        assert not _exists(orphan.id)
    finally:
        subprocess.run(["docker", "rm", "-f", orphan.id], capture_output=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_containers_removed_on_ctrl_c_and_sigterm(base_image: str, sample_repo: Path, sig: int) -> None:
    script = textwrap.dedent(
        f"""
        import faulthandler, signal, sys, time
        faulthandler.dump_traceback_later(45)  # still alive 45 s on (the parent waits 60 s): say where it hangs
        # as in a terminal: a shell starting pytest in the background (`cmd &`) makes SIGINT ignored, and Python
        # keeps an inherited SIG_IGN, so Ctrl-C would never reach this process
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import threading
        from patchjury.envs.config import DockerEnvConfig
        from patchjury.envs.docker import DockerEnv
        from patchjury.envs.cleanup import install_handlers
        assert install_handlers()  # as the `patchjury` command does, in the main thread, before any work
        started = []
        # as in solve and swebench run: a worker thread starts the container (it cannot install handlers itself)
        worker = threading.Thread(
            target=lambda: started.append(DockerEnv(DockerEnvConfig(image={base_image!r},
                                                                   source_repo={str(sample_repo)!r}))),
            daemon=True,
        )
        worker.start()
        worker.join()
        print(started[0].container_id, flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    cid = proc.stdout.readline().strip()
    assert cid, proc.stderr.read() if proc.stderr else ""
    assert _exists(cid)
    proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the process did not exit within 60 s of signal {sig}; its stacks:\n{err[-6000:]}")
    assert not _exists(cid)


def test_runner_killed_by_a_command_is_replaced(base_image: str, sample_repo: Path) -> None:
    with DockerEnv(DockerEnvConfig(image=base_image, source_repo=sample_repo)) as env:
        assert env.execute("echo first").output == "first\n"
        killed = env.execute("kill -9 -1; sleep 5")
        assert killed.exit_code == 137 and "output is lost" in killed.output
        assert env.execute("echo next").output == "next\n"
        assert env.execute("sleep 30", timeout=1).timed_out


@pytest.mark.slow
def test_client_guard_recovers_from_a_stuck_runner(
    base_image: str, sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from patchjury.envs import docker as docker_backend

    monkeypatch.setattr(docker_backend, "GUARD_GRACE", 1.0)
    with DockerEnv(DockerEnvConfig(image=base_image, source_repo=sample_repo)) as env:
        # The command stops its parent (the runner): no reply ever comes, the client-side guard must act.
        stuck = env.execute("kill -STOP $PPID; echo stopped", timeout=1)
        assert stuck.timed_out and stuck.exit_code == 137 and "killed from outside" in stuck.output
        assert env.execute("echo recovered").output == "recovered\n"
        leftovers = env.execute("ps -eo stat,comm | grep -c '^T' || true").output.strip()
        assert leftovers == "0", "the stuck runner was not killed"


def test_close_after_the_container_was_removed_from_outside(base_image: str, sample_repo: Path) -> None:
    """Someone ran `docker rm -f` on a live env (a cleanup script, another sweep): closing must not raise."""
    env = DockerEnv(DockerEnvConfig(image=base_image, source_repo=sample_repo))
    assert env.execute("echo up").output.strip() == "up"  # starts the in-container command runner
    subprocess.run(["docker", "rm", "-f", env.container_id], check=True, capture_output=True)
    env.close()
    assert not _exists(env.container_id)
