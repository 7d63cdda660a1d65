"""Where the jury's picks miss on the real pools, and what a perfect reader of the saved execution evidence could
reach: every pool with both labels is put in one class by selection.training.evidence.separability (can any rule
that reads only the tests' outputs, exit codes and regression counts tell a resolved candidate from the unresolved
ones?), and the rules' full-pool picks (out-of-fold verifier, as in scripts/bench_selection.py) are counted per
class. The bound: ours, plus every pool it misses where the evidence does separate a resolved candidate.

    PYTHONHASHSEED=0 .venv/bin/python scripts/selection_misses.py --setting mixed --evidence-only
    PYTHONHASHSEED=0 .venv/bin/python scripts/selection_misses.py --setting mixed
    PYTHONHASHSEED=0 .venv/bin/python scripts/selection_misses.py --setting same_agent

Labels and provenance are read here only, after the picks, to analyse them.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
EXEC = [
    "exec-signals-regression.jsonl.gz",
    "exec-signals-django.jsonl.gz",
    "exec-signals-sklearn-mpl.jsonl.gz",
]
BEST = {"mixed": "20241117_moatless_claude-3.5-sonnet-20241022", "same_agent": "sweagent-gpt4-0125/cost_2_2"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setting", choices=["mixed", "same_agent"], default="mixed")
    ap.add_argument("--evidence-only", action="store_true", help="only the instances with saved evidence")
    ap.add_argument("--repeats", type=int, default=3, help="verifier fold splits averaged (as the benchmark)")
    ap.add_argument("--artifact", default=str(ROOT / "selection/verifier/artifacts/verifier-v2.json"))
    args = ap.parse_args()

    from patchjury.selection.training.bench import OURS, R2E
    from patchjury.selection.training.bench_run import build_cases, run_setting
    from patchjury.selection.training.evidence import SEPARABILITY, SEPARATES, load_evidence, separability
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.verifier.model import VerifierModel

    evidence = load_evidence([ROOT / "docs/data/evidence-lite-mixed.jsonl.gz"])
    tasks = load_all_tasks([str(DATA / "swebench" / "lite_test.jsonl.gz")])
    cases, chosen = build_cases(
        args.setting,
        DATA,
        tasks,
        evidence,
        [str(ROOT / "docs/data" / f) for f in EXEC],
        str(ROOT / "docs/data/static-checks-lite-mixed.jsonl.gz"),
    )
    if args.evidence_only:
        cases = [c for c in cases if c.instance_id in evidence]
    result = run_setting(args.setting, cases, chosen, VerifierModel.load(args.artifact), splits=args.repeats)
    best = result.references.get(BEST[args.setting], {})
    n: Counter[str] = Counter()
    got: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    all_resolved = sum(1 for c in cases if c.labels.all())
    for c in cases:
        if not c.mixed:
            continue
        kind = (
            "no saved evidence"
            if c.evidence is None
            else separability(c.evidence, c.keys, c.labels, c.regression)
        )
        n[kind] += 1
        for name, value in (
            ("ours", result.full[c.instance_id][OURS]),
            ("R2E-Gym", result.full[c.instance_id][R2E]),
            ("best", best.get(c.instance_id, 0.0)),
        ):
            got[kind][name] += value
    total = len(cases)
    print(
        f"{args.setting}: {total} instances, {sum(n.values())} with both labels, {all_resolved} with every candidate "
        "resolved (any pick is right)\n"
    )
    print(f"| pools with both labels | pools | ours (staged) | R2E-Gym hybrid | {BEST[args.setting]} |")
    print("|---|---|---|---|---|")
    for kind in [*SEPARABILITY, "no saved evidence"]:
        if n[kind]:
            g = got[kind]
            print(f"| {kind} | {n[kind]} | {g['ours']:.1f} | {g['R2E-Gym']:.1f} | {g['best']:.0f} |")
    ours = sum(g["ours"] for g in got.values()) + all_resolved
    bound = ours + n[SEPARATES] - got[SEPARATES]["ours"]
    answered = [c.instance_id for c in cases if c.instance_id in best]
    best_total = sum(best[iid] for iid in answered)
    print(
        f"\nours {ours:.1f} of {total} ({100 * ours / total:.1f}%); right on every pool the evidence separates: "
        f"{bound:.1f} ({100 * bound / total:.1f}%); {BEST[args.setting]} {best_total:.0f} of {len(answered)} "
        f"({100 * best_total / max(len(answered), 1):.1f}%)"
    )


if __name__ == "__main__":
    main()
