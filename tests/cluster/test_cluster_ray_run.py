"""`swebench run --ray` on a REAL three-node Ray cluster on this machine (scripts/local_ray.py), with the
deterministic model: bad input fails with one error line before any work; Ctrl-C cancels the cluster work and a
rerun resumes it; the second node is killed (SIGKILL of its raylet) while it runs trajectories and the run still
completes with every trajectory exactly once, resumed from checkpoints that reached the driver.

One cluster serves the module (starting one takes ~25 s here): node 0 (head) and node 1 offer 2 patchjury_slots
each; node 2 offers `pj_nodocker` and cannot reach a Docker engine. The node-kill test kills node 1: keep it last.
The test process never connects to Ray itself: every run is the CLI in a child process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.oci_registry import FakeRegistry
from local_ray import LocalRay
from scale_workload import Workload, make_workload

pytestmark = [pytest.mark.ray, pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRay]:
    nodes: list[dict[str, float]] = [{"patchjury_slots": 2}, {"patchjury_slots": 2}, {"pj_nodocker": 1}]
    no_docker = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    with LocalRay(tmp_path_factory.mktemp("ray"), nodes, node_env=[{}, {}, no_docker]) as running:
        yield running


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    return make_workload(tmp_path_factory.mktemp("workload"), 2)


def _cmd(wl: Workload, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "patchjury.cli", "swebench", "run", "--instances", str(wl.instances),
        "--repo-cache", str(wl.repo_cache), "--no-clone", "--recipes", str(wl.recipes), "--out", str(out),
        "-n", "4", "--traj-workers", "4", "--workers", "2", "--quiet",
        *[a for c in wl.model(latency_s=1.0) for a in ("-c", c)], *extra,
    ]  # fmt: skip


def _records(out: Path) -> dict[str, dict[str, Any]]:
    rows = {}
    for path in sorted(out.glob("instances/*/trajectories/*/t*.json")):
        try:
            rows[f"{path.parent.name}/{path.stem}"] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # being replaced right now
    return rows


def _wait_mid_run(child: subprocess.Popen[str], out: Path) -> None:
    """Until the first trajectories are past their second step and none has finished."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        recs = _records(out).values()
        if any(len(r["steps"]) >= 2 for r in recs) and all(r["status"] == "running" for r in recs):
            return
        time.sleep(0.2)
    raise AssertionError(f"the run never reached mid-run: {child.communicate()}")


def _check_outputs(wl: Workload, out: Path) -> int:
    """Every instance done, every trajectory exactly once and finished; returns how many resumed mid-way."""
    from patchjury.agent.checkpoint import close_saver, open_saver
    from patchjury.agent.loop import build_trajectory_graph
    from patchjury.core.cluster.checkpoints import Importer

    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["done"] == 2 and summary["totals"]["errors"] == 0, summary["totals"]
    resumed = 0
    for iid in wl.ids:
        inst = out / "instances" / iid
        result = json.loads((inst / "result.json").read_text())
        assert result["status"] == "done" and result["own_test"] == "pass", result
        cands = [json.loads(line) for line in (inst / "candidates.jsonl").read_text().splitlines()]
        assert sorted(c["candidate_id"] for c in cands) == ["t000", "t001", "t002", "t003"]
        files = sorted(p.name for p in (inst / "trajectories" / iid).glob("t*.json"))
        assert files == ["t000.json", "t001.json", "t002.json", "t003.json"]
        saver = open_saver(inst)
        importer = Importer(inst, iid, build_trajectory_graph(saver))
        for k in range(4):
            record = json.loads((inst / "trajectories" / iid / f"t{k:03d}.json").read_text())
            assert record["status"] == "submitted", record["error"]
            # every step exactly once, in order (a step redone after a loss is not recorded twice)
            assert [s["step"] for s in record["steps"]] == list(range(1, 7))
            assert "x + " in record["patch"]
            assert importer.finished(k)  # finished in the driver's own checkpoints too
            resumed += any(r.get("from_step", 0) >= 1 for r in record["resumes"])
        close_saver(saver)
    preds = [json.loads(line) for line in (out / "preds.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in preds] == wl.ids and all("x + " in p["model_patch"] for p in preds)
    return resumed


def _one_error_line(run: subprocess.CompletedProcess[str], *words: str) -> str:
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-3000:]
    lines = [ln for ln in run.stderr.strip().splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert all(w in lines[-1] for w in words), lines[-1]
    return lines[-1]


def test_bad_cluster_input_is_one_error_line_before_any_work(
    cluster: LocalRay, workload: Workload, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "out"
    started = time.monotonic()
    run = subprocess.run(_cmd(workload, out, "--ray", dead), capture_output=True, text=True, timeout=120)
    _one_error_line(run, "no Ray cluster answers at", dead)
    assert time.monotonic() - started < 60
    run = subprocess.run(
        _cmd(workload, out, "--ray", cluster.address, "-c", "ray.slot_resource=pj_gpu"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    _one_error_line(run, "no node of the Ray cluster offers the `pj_gpu` resource")
    run = subprocess.run(
        _cmd(workload, out, "--ray", cluster.address, "-c", "ray.slot_resource=pj_nodocker"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    _one_error_line(run, "offers pj_nodocker but has no Docker engine")
    with FakeRegistry(tmp_path / "registry", refuse_push=True) as registry:
        run = subprocess.run(
            _cmd(workload, out, "--ray", cluster.address, "--image-registry", f"{registry.host}/team"),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    _one_error_line(run, f"image registry {registry.host}/team", "refused the push", "denied")
    assert not (out / "instances").exists()  # nothing started


def _sigint_as_in_a_terminal() -> None:
    """In the child before exec: SIGINT at its default, as a command started in a terminal has it. A shell that
    starts the suite in the background (`bash .ci/run &`, nohup) makes SIGINT ignored; Python keeps an inherited
    SIG_IGN, so the Ctrl-C below never reached the run and it went on to exit 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_cancels_the_cluster_work_and_a_rerun_resumes(
    cluster: LocalRay, workload: Workload, tmp_path: Path, base_image: str
) -> None:
    out = tmp_path / "out"
    cmd = _cmd(workload, out, "--ray", cluster.address)
    child = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_as_in_a_terminal
    )
    try:
        _wait_mid_run(child, out)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, f"an interrupted run exits 130, not {child.returncode}:\n{stderr[-3000:]}"
    time.sleep(2)
    labels = [f"label=dev.patchjury.swebench.instance={iid}" for iid in workload.ids]
    left = [
        cid
        for label in labels
        for cid in subprocess.run(
            ["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True
        ).stdout.split()
    ]
    assert not left, f"containers left on the nodes after Ctrl-C: {left}\n{stderr[-2000:]}"
    before = _records(out)
    assert before and not all(r["status"] == "submitted" for r in before.values())
    mtimes = {
        key: (out / "instances" / key.split("/")[0] / "trajectories" / key.replace("/", os.sep)).with_suffix(
            ".json"
        )
        for key, r in before.items()
        if r["status"] == "submitted"
    }
    stamps = {key: p.stat().st_mtime_ns for key, p in mtimes.items()}

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    resumed = _check_outputs(workload, out)
    assert resumed >= 1, "no interrupted trajectory resumed from its checkpoint"
    assert {key: p.stat().st_mtime_ns for key, p in mtimes.items()} == stamps  # finished ones not redone


def test_solve_on_the_cluster_with_adaptive_sampling(
    cluster: LocalRay, workload: Workload, tmp_path: Path, base_image: str
) -> None:
    """`solve --ray --adaptive` on a local repository: the repository travels as a bundle, trajectories run on the
    nodes in waves, the jury is sure after the first two (they agree) and the branch is made here."""
    repo = workload.instances.parent / "work"
    run = subprocess.run(
        [
            sys.executable, "-m", "patchjury.cli", "solve", "--repo", str(repo), "--issue",
            "add1(1) returns 0, expected 2: mod1.add1 subtracts", "--ray", cluster.address, "--adaptive",
            "-n", "6", "--traj-workers", "2", "--run-id", "on-ray", "--apply",
            "--model", f"deterministic:{workload.scripts}/pjscale__mods-1.yaml",
        ],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    run_dir = repo / ".patchjury" / "runs" / "on-ray"
    outcome = json.loads((run_dir / "outcome.json").read_text())
    assert outcome["status"] == "patch" and outcome["n_trajectories"] == 2 and outcome["branch"]
    adaptive = json.loads((run_dir / "adaptive.json").read_text())
    assert (adaptive["used"], adaptive["saved"]) == (2, 4)
    report = (run_dir / "report.md").read_text()
    assert "Ray cluster" in report and "- Adaptive sampling: sampled 2 of 6" in report
    assert "x + 1" in (run_dir / "chosen.patch").read_text()


def test_run_survives_losing_a_node(
    cluster: LocalRay, workload: Workload, tmp_path: Path, base_image: str
) -> None:
    """Also: the driver has no Docker engine (as docs/scale.md allows), so the trajectories and the jury's test
    matrix (pass_matrix.json) can only have run in containers on the nodes."""
    out = tmp_path / "out"
    child = subprocess.Popen(
        _cmd(workload, out, "--ray", cluster.address),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    try:
        # 8 trajectories on 4 slots: the first four run at once, two of them on node 1. Kill it once they are
        # past their second step (so what resumes elsewhere has checkpoints to resume from).
        _wait_mid_run(child, out)
        cluster.kill_node(1)
        _, stderr = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, stderr[-5000:]
    assert _check_outputs(workload, out) >= 1, (
        "no trajectory resumed from a checkpoint after the node was killed"
    )
    for iid in workload.ids:  # the jury ran its matrix on the cluster: the chosen patch passed there
        matrix = json.loads((out / "instances" / iid / "pass_matrix.json").read_text())
        cells = matrix["cells"]
        assert any(c["subject"] != "original" and c["status"] == "pass" for c in cells), cells
