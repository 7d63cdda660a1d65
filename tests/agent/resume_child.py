"""Child process of test_agent_resume: runs 4 slow deterministic trajectories (killed with SIGKILL by the test)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from agent_fixtures import agent_config, fixing_script

from patchjury.agent.config import ModelConfig
from patchjury.agent.runner import run_trajectories
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Task


def main() -> None:
    repo, run_dir, latency, made_log = (
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        float(sys.argv[3]),
        Path(sys.argv[4]),
    )

    def factory(index: int) -> LocalEnv:
        with made_log.open("a") as fh:
            fh.write(f"{index}\n")
        return LocalEnv(LocalEnvConfig(repo=repo))

    task = Task(instance_id="calc-1", problem_statement="add(2, 2) returns 0 instead of 4")
    model = ModelConfig(type="deterministic", name="det", script=fixing_script(), latency_s=latency)
    cands = run_trajectories(
        task, factory, run_dir, agent_config(n_trajectories=4, workers=2), model, progress=False
    )
    print(json.dumps([c.model_dump() for c in cands]))


if __name__ == "__main__":
    main()
