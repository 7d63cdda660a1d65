"""Collect the execution evidence of real candidate pools once, so every selection rule can be replayed from it.

    nice -n 10 .venv/bin/python scripts/collect_evidence.py --repo-cache /work/cache/repos \
        --ids-file IDS --out docs/data/evidence-lite-mixed.jsonl.gz

Pool: the `mixed` Lite training pools (selection/training/pools.py: lite_candidates_train merged with the SWE-agent
and CodeR candidates that carry the scripts their trajectories wrote). Per instance, one at a time, in the
instance's SWE-bench environment (built from our recipes): every test (the candidates' scripts, run with the
command their trajectory used, and the tests derived from the issue text) runs on the original code and on one
representative per cluster of identical normalized patches, after the agent scratch files are stripped from each
patch. Every cell keeps exit code, timeout, digest of the normalized output, an excerpt, the exception and any
verdict marker (selection/execution.py, selection/outputs.py). Only patches and tests reach the jury: no label or
provenance field.

Regression: with `--regression-from` (the saved exec-signals files of earlier runs), clusters whose patches were
measured there are not run again; the others run on the same related test files as that run (a fresh baseline is
taken). Instances the earlier run did not cover get related files chosen afresh, for every cluster.

One gzip JSON line per instance is appended as it finishes (resumable: instances already in `--out` are skipped).
A rich progress bar shows the instances; the log line per instance gives tests, cells, kept and informative tests,
and the container time. When the disk holding Docker's data has less than `--min-free-gb` free, the image of an
instance just collected is removed if this run built it (a cached image may be someone else's).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FORMAT = "patchjury-evidence/1"


def _done(out: Path) -> set[str]:
    if not out.is_file():
        return set()
    done = set()
    with gzip.open(out, "rt") as fh:
        try:
            for line in fh:
                if line.strip():
                    done.add(json.loads(line)["instance_id"])
        except (EOFError, OSError, json.JSONDecodeError):
            pass  # a torn last member (killed mid-write): that instance runs again
    return done


def _append(out: Path, record: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "at") as fh:
        fh.write(json.dumps(record) + "\n")


def _old_regression(paths: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """(instance -> patch sha1 -> old entry, instance -> related files) from earlier exec-signals files, or from
    earlier evidence files (their measured clusters, every member by its patch)."""
    from patchjury.selection.candidates import json_rows

    entries: dict[str, dict[str, Any]] = {}
    files: dict[str, list[str]] = {}
    for path in paths:
        for _, rec in json_rows(Path(path)):
            if rec.get("error") or rec.get("signals") == "repro":
                continue
            iid = rec["instance_id"]
            if rec.get("format") == FORMAT:
                reg = rec.get("regression") or {}
                if reg.get("files"):
                    files.setdefault(iid, reg["files"])
                for row in rec["candidates"]:
                    n = (reg.get("failures") or {}).get(row.get("subject"))
                    if n is not None:
                        entries.setdefault(iid, {})[row["patch_sha1"]] = {
                            "regression_failures": n,
                            "evidence": True,
                        }
                continue
            if rec.get("regression", {}).get("files"):
                files[iid] = rec["regression"]["files"]
            for row in rec.get("candidates", []):
                if row.get("regression_failures") is not None or row.get("dropped"):
                    entries.setdefault(iid, {})[row["patch_sha1"]] = row
    return entries, files


def _free_gb(path: str = "/var/lib/docker") -> float:
    target = path if Path(path).exists() else "/"
    return shutil.disk_usage(target).free / 2**30


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--instances", default=str(DATA / "swebench" / "lite_test.jsonl.gz"))
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ids-file", required=True, help="instance ids in collection order, one per line")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--test-timeout", type=float, default=60.0)
    ap.add_argument("--regression-timeout", type=float, default=60.0)
    ap.add_argument("--regression-files", type=int, default=4)
    ap.add_argument(
        "--regression-clusters",
        type=int,
        default=0,
        help="regress at most this many clusters per instance, largest first (0: all); caps the time per instance",
    )
    ap.add_argument(
        "--regression-retries", type=int, default=1, help="timeout retries (each doubles the limit)"
    )
    ap.add_argument("--regression-from", nargs="*", default=[])
    ap.add_argument("--min-free-gb", type=float, default=30.0)
    args = ap.parse_args()

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from patchjury.envs.errors import EnvError
    from patchjury.envs.plan import EnvSettings, plan_swebench_instance
    from patchjury.envs.swebench.instances import load_instances
    from patchjury.envs.swebench.source import InstanceSource
    from patchjury.records import Candidate
    from patchjury.selection.candidates import load_tasks
    from patchjury.selection.config import SelectionConfig, recipe_regression
    from patchjury.selection.env_pool import EnvPool
    from patchjury.selection.patch_parse import patch_sha1
    from patchjury.selection.pipeline import run_instance
    from patchjury.selection.regression import run_regression
    from patchjury.selection.scratch import without
    from patchjury.selection.training.pools import lite_pools

    rows = {i.instance_id: i for i in load_instances(args.instances)}
    tasks = load_tasks(args.instances)
    pools = lite_pools(Path(args.data), "mixed")
    ids = [x.strip() for x in Path(args.ids_file).read_text().splitlines() if x.strip()]
    unknown = [i for i in ids if i not in pools]
    if unknown:
        sys.exit(f"{len(unknown)} id(s) have no pool, e.g. {unknown[0]}")
    old, old_files = _old_regression(args.regression_from)
    out = Path(args.out)
    done = _done(out)
    todo = [i for i in ids if i not in done]
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"{len(todo)} instance(s) to collect, {len(done)} already in {out}", flush=True)
    with Progress(
        TextColumn("[bold]evidence[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as bar:
        job = bar.add_task("", total=len(todo))
        for iid in todo:
            bar.update(job, description=iid)
            t0 = time.time()
            inst, task = rows[iid], tasks[iid]
            # only what a selector may see: patches and the tests they carry (no label, no provenance)
            cands = [
                Candidate(
                    instance_id=iid, model_patch=c.model_patch, candidate_id=c.candidate_id, tests=c.tests
                )
                for c in pools[iid]
            ]
            record: dict[str, Any] = {"instance_id": iid, "format": FORMAT, "commit": commit}
            try:
                plan = plan_swebench_instance(
                    inst,
                    EnvSettings(),
                    InstanceSource(
                        instances=str(args.instances), repo_cache=args.repo_cache, allow_clone=False
                    ),
                )
            except EnvError as exc:
                record.update(error=f"no environment: {exc}", elapsed_s=round(time.time() - t0, 1))
                _append(out, record)
                print(f"{iid}: no environment ({str(exc)[:200]})", flush=True)
                bar.advance(job)
                continue
            config = SelectionConfig(
                selector="staged",
                use_verifier=False,
                regression={"enabled": False},
                execution={"workers": args.workers, "test_timeout": args.test_timeout},
            )
            image = plan.image
            t_exec = time.time()
            run = run_instance(task, cands, config, plan.new_env, progress=False)
            exec_s = time.time() - t_exec
            matrix = run.matrix
            assert matrix is not None  # an environment was given
            by_id = {c.candidate_id: c for c in cands}
            cluster_rep = {}
            for sig in run.signals:
                if sig.cluster >= 0:
                    cluster_rep.setdefault(sig.cluster, sig.candidate_id)
            # regression: clusters the earlier run measured are not run again
            known = old.get(iid, {})
            need = {}
            for cluster, rep in cluster_rep.items():
                members = [s.candidate_id for s in run.signals if s.cluster == cluster]
                measured = any(patch_sha1(by_id[m].model_patch) in known for m in members)
                if rep in matrix.applying() and not (iid in old_files and measured):
                    need[rep] = without(by_id[rep].model_patch, matrix.stripped.get(rep, ()))
            if args.regression_clusters and len(need) > args.regression_clusters:
                size = {rep: sum(s.cluster == c for s in run.signals) for c, rep in cluster_rep.items()}
                keep = sorted(need, key=lambda rep: (-size[rep], rep))[: args.regression_clusters]
                need = {rep: need[rep] for rep in keep}
            reg_cfg = recipe_regression(
                SelectionConfig(
                    regression={
                        "timeout": args.regression_timeout,
                        "file_timeout": args.regression_timeout,
                        "max_files": args.regression_files,
                        "timeout_retries": args.regression_retries,
                    }
                ),
                inst,
                image,
            ).regression
            reg = None
            t_reg = time.time()
            if need:
                with EnvPool(plan.new_env, args.workers) as pool:
                    reg = run_regression(pool, need, reg_cfg, args.workers, files=old_files.get(iid))
            reg_s = time.time() - t_reg
            record["candidates"] = [
                {
                    "key": s.candidate_id,
                    "patch_sha1": patch_sha1(by_id[s.candidate_id].model_patch),
                    "cluster": s.cluster,
                    "subject": cluster_rep.get(s.cluster),
                    "dropped": s.dropped,
                }
                for s in run.signals
            ]
            record["matrix"] = matrix.to_json()
            failures = {s: len(f) for s, f in reg.failures.items()} if reg else {}
            for cluster, rep in cluster_rep.items():  # counts an earlier evidence file measured: carried over
                if rep in failures:
                    continue
                for m in (s.candidate_id for s in run.signals if s.cluster == cluster):
                    got = known.get(patch_sha1(by_id[m].model_patch))
                    if got and got.get("evidence"):
                        failures[rep] = int(got["regression_failures"])
                        break
            record["regression"] = {
                "files": reg.files if reg else old_files.get(iid, []),
                "baseline_passing": len(reg.passing) if reg else None,
                "failures": failures,
                "note": reg.note if reg else "",
                "ran_for": sorted(need),
                "reused_from": [Path(p).name for p in args.regression_from] if iid in old_files else [],
            }
            record["notes"] = run.notes or []
            record["image"] = {"tag": image.tag, "seconds": round(image.seconds, 1)}
            record["exec_s"] = round(exec_s, 1)
            record["regression_s"] = round(reg_s, 1)
            record["workers"] = args.workers
            record["container_s"] = round((exec_s + reg_s) * args.workers, 1)
            record["elapsed_s"] = round(time.time() - t0, 1)
            _append(out, record)
            n_cells = len(record["matrix"]["cells"])
            print(
                f"{iid}: {len(matrix.tests)} tests, {len(matrix.subjects)} subjects, {n_cells} cells, "
                f"{len(matrix.kept)} kept; regression for {len(need)} cluster(s); exec {exec_s:.0f} s, "
                f"regression {reg_s:.0f} s",
                flush=True,
            )
            if _free_gb() < args.min_free_gb and image.seconds > 5.0 and not image.official:
                # only an image this run built (a cached one may be someone else's, and stays)
                subprocess.run(["docker", "image", "rm", image.tag], capture_output=True)
                print(f"  low disk: removed {image.tag} (built by this run)", flush=True)
            bar.advance(job)


if __name__ == "__main__":
    main()
