"""Checkpoints travel between run directories (a node's scratch dir and the driver's run dir), without Ray:
a trajectory's checkpoints written into a second run directory make it finished there with the same record, and
a prefix of them (what reached the driver before its node died) lets it resume there from that step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitrepo import init_repo

from patchjury.agent.checkpoint import open_saver
from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.loop import build_trajectory_graph
from patchjury.agent.runner import run_trajectories
from patchjury.core.cluster.checkpoints import Checkpoint, Exporter, Importer
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.registry import make_env
from patchjury.records import Task

REPRO = "import sys\nfrom calc import add\nsys.exit(0 if add(2, 2) == 4 else 2)\n"
SCRIPT: list[dict[str, Any]] = [
    {"content": "Look.", "tool": "view", "args": {"path": "calc.py"}},
    {"tool": "write_test", "args": {"path": "repro_test.py", "content": REPRO}},
    {"tool": "run_test", "args": {"path": "repro_test.py"}},
    {
        "tool": "edit",
        "args": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
    },
    {"tool": "run_test", "args": {"path": "repro_test.py"}},
    {"tool": "submit", "args": {}},
]
TASK = Task(instance_id="calc-1", problem_statement="add(2, 2) returns 0 instead of 4", repo="t/calc")
CONFIG = AgentConfig(n_trajectories=1, workers=1, tools=["view", "edit", "write_test", "run_test", "submit"])
MODEL = ModelConfig(type="deterministic", name="scripted", script=SCRIPT)


def _run(repo: Path, run_dir: Path, on_event: Any = None) -> Any:
    env = LocalEnvConfig(repo=repo, commit="HEAD", use_worktree=False)
    return run_trajectories(
        TASK, lambda _i: make_env(env), run_dir, CONFIG, MODEL, on_event=on_event, progress=False
    )


def _strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("updated_at", "resumes")}


def test_checkpoints_carry_a_trajectory_to_another_run_dir(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    node, driver = tmp_path / "node", tmp_path / "driver"
    node_graph = build_trajectory_graph(open_saver(node))
    exporter = Exporter(node, TASK.instance_id, 0, node_graph)
    sent: list[Checkpoint] = []

    def on_event(_event: Any) -> None:
        cp = exporter.export()
        if cp is not None:
            sent.append(cp)

    _run(repo, node, on_event)
    final = exporter.export()  # None when the run's last event already carried it
    sent += [final] if final is not None else []
    assert sent[-1].finished
    assert sent[0].record is not None and all(cp.record is None and cp.delta for cp in sent[1:])
    # a step ships what it adds, not the whole record again
    assert max(cp.size for cp in sent[1:]) < sent[-1].size + len(json.dumps(sent[0].record))

    importer = Importer(driver, TASK.instance_id, build_trajectory_graph(open_saver(driver)))
    for cp in sent:
        importer.apply(cp)
    assert importer.finished(0)
    rel = Path("trajectories/calc-1/t000.json")
    assert _strip(json.loads((driver / rel).read_text())) == _strip(json.loads((node / rel).read_text()))
    assert (driver / rel.with_suffix(".patch")).read_text() == (node / rel.with_suffix(".patch")).read_text()
    state = importer.graph.get_state({"configurable": {"thread_id": "calc-1/t000"}}).values
    assert state["workspace"].startswith(f"{driver}/blobs/") and Path(state["workspace"]).is_file()
    assert Path(state["submitted"]["path"]).is_file() and str(node) not in json.dumps(state)
    # a local rerun over the driver's directory finds it finished: nothing is redone
    again = _run(repo, driver)
    assert again[0].status == "submitted" and "a + b" in again[0].model_patch


def test_a_prefix_of_checkpoints_resumes_from_that_step(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    node, driver = tmp_path / "node", tmp_path / "driver"
    exporter = Exporter(node, TASK.instance_id, 0, build_trajectory_graph(open_saver(node)))
    sent: list[Checkpoint] = []
    _run(repo, node, lambda _e: sent.append(cp) if (cp := exporter.export()) else None)
    # the node "dies" after a checkpoint past step 4 (the edit) reached the driver
    cut = next(i for i, cp in enumerate(sent) if cp.values and cp.values["cursor"]["steps"] >= 5)
    importer = Importer(driver, TASK.instance_id, build_trajectory_graph(open_saver(driver)))
    for cp in sent[: cut + 1]:
        importer.apply(cp)
    assert not importer.finished(0)
    # a fresh node resumes it from the driver's copy (the same export the driver sends with the retry)
    seed = Exporter(driver, TASK.instance_id, 0, importer.graph).export(force=True)
    assert seed is not None and seed.record is not None
    elsewhere = tmp_path / "elsewhere"
    Importer(elsewhere, TASK.instance_id, build_trajectory_graph(open_saver(elsewhere))).apply(seed)
    cands = _run(repo, elsewhere)
    assert (
        cands[0].status == "submitted" and "a + b" in cands[0].model_patch
    )  # the edit came with the workspace
    record = json.loads((elsewhere / "trajectories/calc-1/t000.json").read_text())
    assert [s["step"] for s in record["steps"]] == [1, 2, 3, 4, 5, 6]
    assert record["resumes"][-1]["from_step"] >= 4
    tools = [s["observations"][0]["name"] for s in record["steps"]]
    assert tools == ["view", "write_test", "run_test", "edit", "run_test", "submit"]


def test_a_checkpoint_read_between_a_nodes_writes_and_the_next_checkpoint_is_not_finished(
    tmp_path: Path,
) -> None:
    """LangGraph's `next` leaves out a task whose writes are saved while the next checkpoint is not yet: read at
    that moment, a running trajectory looked finished, and if the stream stopped there (Ctrl-C on the driver) the
    rerun skipped it with its record still `running` (seen in CI: 3 of 4 candidates)."""
    repo = init_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    node, driver = tmp_path / "node", tmp_path / "driver"
    exporter = Exporter(node, TASK.instance_id, 0, build_trajectory_graph(open_saver(node)))
    sent: list[Checkpoint] = []
    _run(repo, node, lambda _e: sent.append(cp) if (cp := exporter.export()) else None)
    cut = next(i for i, cp in enumerate(sent) if cp.values and cp.values["cursor"]["steps"] >= 2 and cp.next)
    saver = open_saver(driver)
    importer = Importer(driver, TASK.instance_id, build_trajectory_graph(saver))
    for cp in sent[: cut + 1]:
        importer.apply(cp)
    config = {"configurable": {"thread_id": "calc-1/t000"}}
    snap = importer.graph.get_state(config)
    (task,) = snap.tasks
    saver.put_writes(snap.config, [("status", "running")], task.id)  # its node wrote; no new checkpoint yet
    assert importer.graph.get_state(config).next == ()  # the premise: LangGraph's view in that window
    seed = Exporter(driver, TASK.instance_id, 0, importer.graph).export(force=True)
    assert seed is not None and seed.next == (task.name,) and not seed.finished
    elsewhere = tmp_path / "elsewhere"
    other = Importer(elsewhere, TASK.instance_id, build_trajectory_graph(open_saver(elsewhere)))
    other.apply(seed)
    assert not other.finished(0)
    cands = _run(repo, elsewhere)  # and it resumes to the end
    assert cands[0].status == "submitted" and "a + b" in cands[0].model_patch


def test_a_record_finished_before_its_checkpoint_arrived_is_finished_for_the_driver_too(
    tmp_path: Path,
) -> None:
    """The stream ended after the checkpoint before `finish` (its status set) and the record `finish` wrote, not
    the final checkpoint: agent.runner skips such a trajectory, so the driver must count it finished as well (it
    resubmitted it, the node skipped it and sent nothing new, and the driver gave up: 'ended without finishing')."""
    repo = init_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    node, driver = tmp_path / "node", tmp_path / "driver"
    exporter = Exporter(node, TASK.instance_id, 0, build_trajectory_graph(open_saver(node)))
    sent: list[Checkpoint] = []
    _run(repo, node, lambda _e: sent.append(cp) if (cp := exporter.export()) else None)
    last = exporter.export()
    sent += [last] if last is not None else []
    cut = next(i for i, cp in enumerate(sent) if cp.next == ("finish",))
    importer = Importer(driver, TASK.instance_id, build_trajectory_graph(open_saver(driver)))
    for cp in sent[: cut + 1]:
        importer.apply(cp)
    rel = Path("trajectories/calc-1/t000.json")
    (driver / rel).write_text((node / rel).read_text())  # the record as `finish` wrote it
    assert importer.finished(0)
    steps = len(json.loads((driver / rel).read_text())["steps"])
    again = _run(repo, driver)  # and the runner agrees: nothing is redone
    assert again[0].status == "submitted" and len(json.loads((driver / rel).read_text())["steps"]) == steps
