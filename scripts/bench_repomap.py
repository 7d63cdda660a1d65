"""Repository map on real SWE-bench Lite instances: build time (cold, warm from disk, warm in memory) and whether
the map, personalized toward the issue text, shows the file the gold patch edits (vs. an unpersonalized map).

    .venv/bin/python scripts/bench_repomap.py --mirrors /work/.mirror --per-repo 2 --tokens 2048

Repositories come from bare mirrors laid out as `<mirrors>/<owner>+<name>/repo` (the fetch tool's layout) or
`<mirrors>/<owner>__<name>`; instances of other repositories are skipped. The gold patch is read for grading only
(which files it edits); the map sees only the problem statement. Prints one row per instance and medians.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def find_mirror(mirrors: Path, repo: str) -> Path | None:
    owner, name = repo.split("/")
    for cand in (
        mirrors / f"{owner}+{name}" / "repo",
        mirrors / f"{owner}__{name}",
        mirrors / f"{owner}__{name}.git",
    ):
        if cand.is_dir():
            return cand
    return None


def gold_files(patch: str) -> list[str]:
    return sorted(
        {
            m.group(1)
            for m in re.finditer(r"^diff --git a/(\S+) b/", patch, re.M)
            if m.group(1).endswith(".py")
        }
    )


def map_files(text: str) -> list[str]:
    return [line[:-1] for line in text.splitlines()[1:] if line.endswith(":") and not line.startswith(" ")]


def rank_of(gold: list[str], files: list[str]) -> int | None:
    ranks = [files.index(g) + 1 for g in gold if g in files]
    return min(ranks) if ranks else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=Path, default=DATA / "swebench" / "lite_test.jsonl.gz")
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--per-repo", type=int, default=2, help="instances per repository (first by instance id)")
    ap.add_argument("--tokens", type=int, default=2048, help="map token budget")
    ap.add_argument("--json", type=Path, help="write per-instance results here")
    args = ap.parse_args()

    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    import patchjury.tools.repomap as repomap
    from patchjury.envs.config import LocalEnvConfig
    from patchjury.envs.local import LocalEnv
    from patchjury.tools.config import ToolsConfig
    from patchjury.tools.repo_map import repo_map_text

    with gzip.open(args.instances, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    chosen: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["instance_id"]):
        if find_mirror(args.mirrors, row["repo"]) and gold_files(row["patch"]):
            chosen.setdefault(row["repo"], [])
            if len(chosen[row["repo"]]) < args.per_repo:
                chosen[row["repo"]].append(row)
    todo = [r for rs in chosen.values() for r in rs]
    if not todo:
        sys.exit(f"no instance has a mirror under {args.mirrors}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-repomap-") as tmp:
        config = ToolsConfig(repomap_cache_dir=f"{tmp}/cache", state_dir=f"{tmp}/state")
        clones: dict[str, Path] = {}
        for row in track(todo, description="repo maps"):
            repo = row["repo"]
            if repo not in clones:
                clones[repo] = Path(tmp) / repo.replace("/", "__")
                subprocess.run(
                    [
                        "git",
                        "clone",
                        "-q",
                        "--shared",
                        "--no-checkout",
                        str(find_mirror(args.mirrors, repo)),
                        str(clones[repo]),
                    ],
                    check=True,
                )
            env = LocalEnv(LocalEnvConfig(repo=clones[repo], commit=row["base_commit"]))
            try:
                t0 = time.perf_counter()
                text, info = repo_map_text(
                    env, row["problem_statement"], max_tokens=args.tokens, config=config
                )
                cold = time.perf_counter() - t0
                repomap._MEMORY.clear()  # a new process: cache read from disk
                t0 = time.perf_counter()
                repo_map_text(env, row["problem_statement"], max_tokens=args.tokens, config=config)
                warm_disk = time.perf_counter() - t0
                t0 = time.perf_counter()
                repo_map_text(env, row["problem_statement"], max_tokens=args.tokens, config=config)
                warm_mem = time.perf_counter() - t0
                plain, _ = repo_map_text(env, "", max_tokens=args.tokens, config=config)
            finally:
                env.close()
            gold = gold_files(row["patch"])
            files = map_files(text)
            results.append(
                {
                    "instance_id": row["instance_id"],
                    "py_files": info["files"],
                    "definitions": info["definitions"],
                    "cold_s": cold,
                    "warm_disk_s": warm_disk,
                    "warm_mem_s": warm_mem,
                    "tokens": len(text) // 4,
                    "gold_rank": rank_of(gold, files),
                    "gold_rank_unfocused": rank_of(gold, map_files(plain)),
                    "map_files": len(files),
                }
            )
    table = Table(title=f"repo map, budget {args.tokens} tokens")
    for col in (
        "instance",
        "py files",
        "defs",
        "cold s",
        "warm disk s",
        "warm mem s",
        "gold file rank",
        "unfocused",
    ):
        table.add_column(col)
    for r in results:
        table.add_row(
            r["instance_id"],
            str(r["py_files"]),
            str(r["definitions"]),
            f"{r['cold_s']:.1f}",
            f"{r['warm_disk_s']:.2f}",
            f"{r['warm_mem_s']:.2f}",
            str(r["gold_rank"] or "-"),
            str(r["gold_rank_unfocused"] or "-"),
        )
    console = Console(width=160)
    console.print(table)
    n = len(results)
    hit = sum(r["gold_rank"] is not None for r in results)
    hit1 = sum(r["gold_rank"] == 1 for r in results)
    hit5 = sum(r["gold_rank"] is not None and r["gold_rank"] <= 5 for r in results)
    base = sum(r["gold_rank_unfocused"] is not None for r in results)
    med = {k: statistics.median(r[k] for r in results) for k in ("cold_s", "warm_disk_s", "warm_mem_s")}
    console.print(
        f"{n} instances: gold file shown in the issue-personalized map {hit}/{n} (first file: {hit1}/{n}, "
        f"among the first 5 files: {hit5}/{n}); "
        f"in an unpersonalized map {base}/{n}. Median seconds: cold {med['cold_s']:.1f}, warm from disk "
        f"{med['warm_disk_s']:.2f}, warm in memory {med['warm_mem_s']:.2f}."
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
