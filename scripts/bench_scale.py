"""Throughput of `swebench run --ray` on 1 node vs 2 node processes, and a run that loses a node.

    python scripts/bench_scale.py --quick          # 6 instances x 4 trajectories, 4 slots per node (~10 min)
    python scripts/bench_scale.py --instances 12 --trajectories 4 --slots 4 --latency 3 --inflight 3

One real local Ray cluster (scripts/local_ray.py) of two node processes, each with `--slots` patchjury_slots;
node 0 also offers `bench_one`, so the 1-node run (`-c ray.slot_resource=bench_one`) uses node 0 only and the
2-node run (`patchjury_slots`) both, with the same driver, images and warm workers. The workload
(scripts/scale_workload.py) is the same in every run: a scripted model with a fixed latency per query (eight
queries per trajectory with --quick) stands in for an LLM API; `--inflight` instances are in flight at once, as
a long run keeps a few more instances going than the slots need, so one instance's jury overlaps the next one's
trajectories. Wall time is then dominated by that latency, not by CPU,
which is what a fair scaling measurement needs on this machine (2 cores shared with other engineers): the CPU a
trajectory does need (its container, its tool commands, its checkpoints) is small next to `6 x latency`.

Prints per run the wall time and throughput (trajectories per second, whole run: trajectories and jury), the
ratio of the 2-node throughput to the 1-node one against the ideal 2.0, a line for the node-kill run (lost and
duplicated trajectories; target 0 and 0) and, last, the efficiency line (ratio / 2; target >= 0.85).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from patchjury.trajectory_record import RecordFileError, TrajectoryRecord, load_trajectory

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_ray import LocalRay
from scale_workload import Workload, make_workload


def _cmd(
    wl: Workload, out: Path, address: str, n: int, latency: float, inflight: int, *extra: str
) -> list[str]:
    return [
        sys.executable, "-m", "patchjury.cli", "swebench", "run", "--ray", address, "--instances", str(wl.instances),
        "--repo-cache", str(wl.repo_cache), "--no-clone", "--recipes", str(wl.recipes), "--out", str(out),
        "-n", str(n), "--traj-workers", str(n), "--workers", str(inflight), "--quiet",
        *[a for c in wl.model(latency) for a in ("-c", c)], *extra,
    ]  # fmt: skip


def _run(cmd: list[str]) -> float:
    start = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise SystemExit(f"run failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return time.monotonic() - start


def _records(out: Path) -> list[TrajectoryRecord]:
    return [load_trajectory(p) for p in sorted(out.glob("instances/*/trajectories/*/t*.json"))]


def _phase(out: Path) -> float:
    """Seconds from the first trajectory's start to the last one's end."""
    recs = _records(out)
    return max(r.finished_at or r.updated_at for r in recs) - min(r.created_at for r in recs)


def _audit(wl: Workload, out: Path, n: int) -> tuple[int, int, int]:
    """(lost, duplicated, resumed) trajectories of a run that should hold len(ids) x n finished ones."""
    lost = duplicated = resumed = 0
    for iid in wl.ids:
        inst = out / "instances" / iid
        cands = [json.loads(x)["candidate_id"] for x in (inst / "candidates.jsonl").read_text().splitlines()]
        duplicated += len(cands) - len(set(cands))
        for k in range(n):
            path = inst / "trajectories" / iid / f"t{k:03d}.json"
            if not path.exists() or f"t{k:03d}" not in cands:
                lost += 1
                continue
            rec = load_trajectory(path)
            steps = [s.step for s in rec.steps]
            if rec.status != "submitted":
                lost += 1
            elif steps != list(range(1, len(steps) + 1)):
                duplicated += 1  # a step recorded twice (or out of order)
            resumed += any((r.from_step or 0) >= 1 for r in rec.resumes)
        extra = {p.stem for p in (inst / "trajectories" / iid).glob("t*.json")} - {
            f"t{k:03d}" for k in range(n)
        }
        duplicated += len(extra)
    return lost, duplicated, resumed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="6 instances x 4 trajectories, 4 slots per node, 2.5 s latency"
    )
    ap.add_argument("--instances", type=int, default=8)
    ap.add_argument("--trajectories", type=int, default=4)
    ap.add_argument("--slots", type=int, default=4, help="patchjury_slots per node")
    ap.add_argument("--latency", type=float, default=3.0, help="seconds per scripted model query")
    ap.add_argument("--extra-steps", type=int, default=0, help="scripted steps added to each trajectory")
    ap.add_argument("--inflight", type=int, default=3, help="instances in flight at once (--workers)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the runs under this directory")
    args = ap.parse_args()
    if args.quick:
        args.instances, args.trajectories, args.slots, args.latency = 6, 4, 4, 2.5
        args.extra_steps, args.inflight = 2, 3
    root = args.keep or Path(tempfile.mkdtemp(prefix="pj-bench-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    n, k = args.trajectories, args.instances
    total = n * k
    wl = make_workload(root / "workload", k, args.extra_steps)
    queries = 6 + args.extra_steps
    print(
        f"workload: {k} instances x {n} trajectories = {total}; scripted model, {args.latency:g} s per query x "
        f"{queries} queries per trajectory (latency-bound: ~{args.latency * queries:.0f} s of waiting each); "
        f"{args.slots} slots per node, {args.inflight} instances in flight"
    )
    nodes: list[dict[str, float]] = [{"patchjury_slots": args.slots, "bench_one": args.slots}]
    nodes.append({"patchjury_slots": args.slots})
    with LocalRay(root / "ray", nodes, num_cpus=args.slots + 2) as cluster:
        # warm-up: the environment image exists before anything is timed (Ray workers belong to a job: every timed
        # run starts its own, as a real run does)
        _run(_cmd(wl, root / "warmup", cluster.address, 2 * args.slots, 0.0, 1, "--instance-ids", wl.ids[0]))
        rows = []
        for label, resource in (("1 node", "bench_one"), ("2 nodes", "patchjury_slots")):
            out = root / label.replace(" ", "-")
            wall = _run(
                _cmd(
                    wl,
                    out,
                    cluster.address,
                    n,
                    args.latency,
                    args.inflight,
                    "-c",
                    f"ray.slot_resource={resource}",
                )
            )
            rows.append((label, wall, _phase(out)))
            slots = args.slots * (1 if resource == "bench_one" else 2)
            print(
                f"{label:8s} ({slots:2d} slots): {total} trajectories in {wall:6.1f} s -> {total / wall:.3f} traj/s "
                f"(trajectory phase {rows[-1][2]:.1f} s -> {total / rows[-1][2]:.3f} traj/s)"
            )
        ratio = rows[0][1] / rows[1][1]
        ratio_phase = rows[0][2] / rows[1][2]
        print(
            f"throughput ratio 2 nodes / 1 node: {ratio:.2f} (ideal 2.00); trajectory phase alone {ratio_phase:.2f}"
        )
        # node-kill run: both nodes, node 1 killed once the first wave is past its second step
        out = root / "node-kill"
        child = subprocess.Popen(
            _cmd(wl, out, cluster.address, n, args.latency, args.inflight),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and child.poll() is None:
            recs = []
            for p in out.glob("instances/*/trajectories/*/t*.json"):
                try:
                    recs.append(load_trajectory(p))
                except RecordFileError:  # being replaced, or not written yet
                    continue
            if any(len(r.steps) >= 2 for r in recs) and all(r.status == "running" for r in recs):
                break
            time.sleep(0.2)
        cluster.kill_node(1)
        _, stderr = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise SystemExit(f"node-kill run failed:\n{stderr[-3000:]}")
        lost, dup, resumed = _audit(wl, out, n)
    print(
        f"node-kill run: {total} trajectories expected; lost {lost}, duplicated {dup} (target 0 and 0); "
        f"{resumed} resumed from a checkpoint on the surviving node"
    )
    print(f"efficiency {ratio / 2:.2f} of ideal on 2 node processes (target >= 0.85)")


if __name__ == "__main__":
    main()
