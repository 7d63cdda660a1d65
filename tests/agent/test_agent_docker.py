"""End to end in Docker: 4 deterministic trajectories in parallel on a small buggy repo the test creates."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from agent_fixtures import REPRO, agent_config, fixing_script

from patchjury.agent.config import ModelConfig
from patchjury.agent.runner import run_trajectories
from patchjury.envs.config import DockerEnvConfig
from patchjury.envs.docker import DockerEnv
from patchjury.records import Task
from patchjury.trajectory_record import load_trajectory


def _exit(repo: Path, test_path: str, content: str, patch: str | None, where: Path) -> int:
    subprocess.run(["git", "clone", "-q", str(repo), str(where)], check=True)
    (where / test_path).write_text(content)
    if patch is not None:
        subprocess.run(["git", "apply"], input=patch, text=True, cwd=where, check=True)
    return subprocess.run(["python3", test_path], cwd=where, capture_output=True).returncode


@pytest.mark.docker
@pytest.mark.slow
def test_four_trajectories_in_docker_in_parallel(buggy_repo: Path, base_image: str, tmp_path: Path) -> None:
    task = Task(instance_id="calc-docker", problem_statement="add(2, 2) returns 0 instead of 4")
    starts: list[str] = []

    def factory(index: int) -> DockerEnv:
        env = DockerEnv(
            DockerEnvConfig(image=base_image, source_repo=buggy_repo, commit="HEAD", memory="512m")
        )
        starts.append(env.workdir)
        return env

    model = ModelConfig(type="deterministic", name="det", script=fixing_script(), latency_s=0.2)
    cands = run_trajectories(
        task, factory, tmp_path / "run", agent_config(n_trajectories=4, workers=4), model, progress=False
    )
    assert len(starts) == 4 and set(starts) == {"/testbed"}
    records = [load_trajectory(str(c.trajectory)) for c in cands]
    # parallel: every trajectory started before any of them finished
    assert max(r.created_at for r in records) < min(r.finished_at or 0.0 for r in records)
    for i, cand in enumerate(cands):
        assert cand.status == "submitted" and cand.reproduced is True, records[i].error
        assert "+    return a + b" in cand.model_patch and "repro_test" not in cand.model_patch
        (test,) = cand.tests
        assert test.path == f"repro_test_{i}.py" and test.content == REPRO
        assert _exit(buggy_repo, test.path, test.content, None, tmp_path / f"orig{i}") == 2
        assert _exit(buggy_repo, test.path, test.content, cand.model_patch, tmp_path / f"fixed{i}") == 0
        names = [s.observations[0].name for s in records[i].steps]
        assert names == ["view", "write_test", "run_test", "edit", "run_test", "submit"]
