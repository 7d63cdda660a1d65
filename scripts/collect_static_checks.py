"""Static checks (selection/static_check.py) of every candidate of a pool, saved for training and benchmarks.

    .venv/bin/python scripts/collect_static_checks.py --repo-cache /work/repo-cache \
        --out docs/data/static-checks-lite.jsonl.gz

Patches are checked without their agent scratch files (selection/scratch.py), as the jury applies them.
Reads only `instance_id`, `model_patch` and the tests' paths of each candidate, and `repo`/`base_commit` of its
instance; writes one
line per distinct (instance, patch): {"instance_id", "patch_sha1", "static": report}. `scripts/train_verifier.py
--static-checks FILE` and `scripts/bench_selection.py --static-checks FILE` join it by patch sha1, so they run
without the repository mirrors. About 1 minute for the 1,511 lite candidates.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default=str(DATA / "candidates" / "lite_candidates_train.jsonl.gz"))
    ap.add_argument("--instances", default=str(DATA / "swebench" / "lite_test.jsonl.gz"))
    ap.add_argument("--repo-cache", required=True, help="directory of owner__name clones or mirrors")
    ap.add_argument("--out", required=True, help="JSONL output (.gz to compress)")
    ap.add_argument(
        "--pool",
        choices=["file", "mixed"],
        default="file",
        help="`mixed`: the --candidates file merged with the pools carrying scripts (selection/training/pools.py)",
    )
    args = ap.parse_args()

    from rich.progress import track

    from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
    from patchjury.selection.static_check import StaticChecker, cache_source

    tasks = load_tasks(args.instances)
    if args.pool == "mixed":
        from patchjury.selection.training.pools import lite_pools

        pools = lite_pools(DATA, "mixed")
    else:
        pools = group_by_instance(load_candidates(args.candidates))
    checker = StaticChecker(cache_source(args.repo_cache))
    for iid, cands in track(sorted(pools.items()), description="static checks"):
        if any(report is None for report in checker.reports(tasks[iid], cands)):
            sys.exit(f"{iid}: its instance row names no repository, so it cannot be checked")
    reports = checker.saved  # (instance_id, patch sha1) -> report: one per distinct patch
    out = Path(args.out)
    opener = gzip.open if out.suffix == ".gz" else open
    with opener(out, "wt", encoding="utf-8") as fh:
        for (iid, sha), report in reports.items():
            row = {"instance_id": iid, "patch_sha1": sha, "static": report.to_json()}
            fh.write(json.dumps(row, sort_keys=True) + "\n")
    tally = {
        "checked": sum(r.checked for r in reports.values()),
        "undefined names": sum(bool(r.undefined_names) for r in reports.values()),
        "syntax errors": sum(bool(r.syntax_errors) for r in reports.values()),
        "new warnings": sum(bool(r.new_warnings) for r in reports.values()),
    }
    print(f"{len(reports)} distinct patches -> {out}: " + ", ".join(f"{k} {v}" for k, v in tally.items()))


if __name__ == "__main__":
    main()
