"""Run the jury's execution half on real candidate pools and save every candidate's execution signals.

    .venv/bin/python scripts/collect_exec_signals.py --candidates cands.jsonl \
        --instances ../shared/data/swebench/lite_test.jsonl.gz --repo-cache /work/repo-cache --out signals.jsonl

For each instance: build (or reuse) its SWE-bench environment image from the recipes, then `run_instance` exactly as
`patchjury select` does: the pass matrix over the reproduction tests (the candidates' own and those derived from the
issue text) and the regression signal with the recipe's test command and log parser. One JSON line per instance
(resumable: instances already in `--out` are skipped), keyed by the sha1 of each candidate's patch, so a benchmark
can join the signals to labeled candidates without this script ever reading labels or provenance: only
`instance_id` and `model_patch` are passed to the jury (other fields of the candidates file are dropped here).
`scripts/bench_selection.py --exec-signals` turns the file into Best@K rows for execution-only, R2E-Gym hybrid and
the staged rule.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def patch_key(patch: str) -> str:
    return hashlib.sha1((patch or "").encode()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", required=True)
    ap.add_argument("--instances", required=True)
    ap.add_argument("--repo-cache", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ids", nargs="*", default=None, help="only these instance ids")
    ap.add_argument(
        "--ids-file", default=None, help="only the instance ids listed in this file (one per line)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--test-timeout", type=float, default=60.0)
    ap.add_argument("--regression-timeout", type=float, default=300.0)
    ap.add_argument("--regression-files", type=int, default=4)
    ap.add_argument(
        "--signals",
        choices=["both", "regression", "repro"],
        default="both",
        help="gather only one signal (files from separate runs can be merged by the benchmark)",
    )
    args = ap.parse_args()

    from patchjury.envs.errors import EnvError
    from patchjury.envs.plan import EnvSettings, plan_swebench_instance
    from patchjury.envs.swebench.instances import load_instances
    from patchjury.envs.swebench.source import InstanceSource
    from patchjury.records import Candidate
    from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
    from patchjury.selection.config import SelectionConfig, recipe_regression
    from patchjury.selection.pipeline import run_instance

    rows = {i.instance_id: i for i in load_instances(args.instances)}
    tasks = load_tasks(args.instances)
    pools = group_by_instance(load_candidates(args.candidates))
    wanted = set(args.ids or [])
    if args.ids_file:
        wanted |= {x.strip() for x in Path(args.ids_file).read_text().splitlines() if x.strip()}
    if wanted:
        unknown = sorted(wanted - set(pools))
        if unknown:
            sys.exit(
                f"{len(unknown)} requested instance(s) have no candidates in {args.candidates}: {unknown[:3]}"
            )
        pools = {k: v for k, v in pools.items() if k in wanted}
    out = Path(args.out)
    done = set()
    if out.is_file():
        done = {json.loads(line)["instance_id"] for line in out.read_text().splitlines() if line.strip()}
    todo = [iid for iid in pools if iid not in done]
    print(f"{len(todo)} instance(s) to run, {len(done)} already in {out}", file=sys.stderr)
    for n, iid in enumerate(todo, 1):
        t0 = time.time()
        inst, task = rows[iid], tasks[iid]
        # only what a selector may see: the patch (ids are positional, provenance fields dropped)
        cands = [
            Candidate(instance_id=iid, model_patch=c.model_patch, candidate_id=f"c{k}")
            for k, c in enumerate(pools[iid])
        ]
        record: dict = {"instance_id": iid, "signals": args.signals}
        try:
            plan = plan_swebench_instance(
                inst,
                EnvSettings(),
                InstanceSource(instances=str(args.instances), repo_cache=args.repo_cache, allow_clone=False),
            )
        except EnvError as exc:
            record.update(error=f"no environment: {exc}", elapsed=round(time.time() - t0, 1))
            _append(out, record)
            print(f"[{n}/{len(todo)}] {iid}: no environment ({str(exc)[:160]})", file=sys.stderr)
            continue
        config = SelectionConfig(
            selector="staged",
            use_verifier=False,
            regression={
                "timeout": args.regression_timeout,
                "file_timeout": args.regression_timeout,
                "max_files": args.regression_files,
                "enabled": args.signals != "repro",
                "scope": "all",  # every candidate: the benchmark replays the rules on every subset
            },
            execution={
                "workers": args.workers,
                "test_timeout": args.test_timeout,
                "issue_tests": {"enabled": args.signals != "regression"},
            },
        )
        config = recipe_regression(config, inst, plan.image)  # as `patchjury select --instances` does
        run = run_instance(task, cands, config, plan.new_env, progress=False)
        m, reg = run.matrix, run.regression
        record["image_s"] = round(plan.image.seconds, 1)
        record["tests"] = (
            [{"test_id": t.test_id, "kept": t.test_id in m.kept} for t in m.tests] if m is not None else []
        )
        record["original"] = {t.test_id: _status(m, "original", t.test_id) for t in m.tests} if m else {}
        record["regression"] = {
            "files": reg.files if reg else [],
            "baseline_passing": len(reg.passing) if reg else 0,
            "note": reg.note if reg else "",
        }
        cand_rows = []
        for cand, sig in zip(cands, run.signals, strict=True):
            cand_rows.append(
                {
                    "patch_sha1": patch_key(cand.model_patch),
                    "cluster": sig.cluster,
                    "dropped": sig.dropped,
                    "repro_pass": sig.repro_pass,
                    "repro_total": sig.repro_total,
                    "kept_pass": _kept_row(m, run, sig.candidate_id) if m is not None else None,
                    "regression_failures": sig.regression_failures,
                    "regression_total": sig.regression_total,
                }
            )
        record["candidates"] = cand_rows
        record["notes"] = run.notes or []
        record["elapsed"] = round(time.time() - t0, 1)
        _append(out, record)
        kept = sum(t["kept"] for t in record["tests"])
        print(
            f"[{n}/{len(todo)}] {iid}: {len(record['tests'])} tests ({kept} kept), regression files "
            f"{len(record['regression']['files'])}, baseline passing {record['regression']['baseline_passing']}, "
            f"{record['elapsed']} s",
            file=sys.stderr,
        )


def _kept_row(matrix, run, cid: str) -> list[bool] | None:
    """The candidate's pass/fail on each kept test, through its cluster representative."""
    sig = next(s for s in run.signals if s.candidate_id == cid)
    if sig.cluster < 0:
        return None
    reps = [s.candidate_id for s in run.signals if s.cluster == sig.cluster]
    rep = next((r for r in reps if r in matrix.subjects), None)
    return matrix.row(rep) if rep is not None and rep not in matrix.apply_failures else None


def _status(matrix, subject: str, test_id: str) -> str | None:
    cell = matrix.cell(subject, test_id)
    return cell.status if cell is not None else None


def _append(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
