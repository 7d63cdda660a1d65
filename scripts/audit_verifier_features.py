"""Audit the verifier's features for system proxies: does a feature identify WHO wrote a patch rather than
WHETHER it is right?

    .venv/bin/python scripts/audit_verifier_features.py [--md /tmp/audit.md]
    .venv/bin/python scripts/audit_verifier_features.py --pool trajectories     # with the trajectory features
    .venv/bin/python scripts/audit_verifier_features.py --pool same_agent --field run

`--pool`: `file` (the --candidates file), `mixed` (it merged with the pools whose candidates carry scripts and
trajectories, selection/training/pools.py), `trajectories` (every candidate that comes with its trajectory: 3
SWE-agent runs and CodeR on Lite, mini-swe-agent on Verified) or `same_agent` (the 3 SWE-agent runs only; audit it
with `--field run`: a feature that tells one run of the same agent from another is a proxy too).

For every feature (computed on each instance's full pool, exactly as the verifier sees it) this prints the
one-vs-rest AUROC of predicting the producing system (max over systems) and the AUROC of predicting `resolved`,
both direction-free (max(a, 1 - a)), and applies the exclusion rule of selection/training/proxies.py. The
`system` provenance field is read HERE ONLY, to measure leakage; training never reads it.
Constant features get 0.5 on both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default=str(DATA / "candidates" / "lite_candidates_train.jsonl.gz"))
    ap.add_argument("--instances", nargs="+", default=[str(DATA / "swebench" / "lite_test.jsonl.gz")])
    ap.add_argument("--field", default="system", help="provenance field naming the producer (audit only)")
    ap.add_argument("--pool", choices=["file", "mixed", "trajectories", "same_agent"], default="file")
    ap.add_argument("--md", default="", help="also write the table to this markdown file")
    ap.add_argument(
        "--static-checks",
        default=str(ROOT / "docs" / "data" / "static-checks-lite.jsonl.gz"),
        help="saved static-check reports, so the static_* features are audited too ('' to skip them)",
    )
    args = ap.parse_args()

    from patchjury.selection.candidates import group_by_instance, load_candidates
    from patchjury.selection.static_check import saved_checker
    from patchjury.selection.training.pools import lite_pools, trajectory_pools
    from patchjury.selection.training.proxies import LABEL_AUROC_MAX, PROXY_FEATURES, SYSTEM_AUROC_MIN, audit
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.training.train import build_pools
    from patchjury.selection.verifier.features import FEATURE_NAMES

    if args.pool == "file":
        groups = group_by_instance(load_candidates(args.candidates))
    elif args.pool == "mixed":
        groups = lite_pools(DATA, "mixed")
    elif args.pool == "same_agent":
        groups = lite_pools(DATA, "same_agent")
    else:
        groups = trajectory_pools(DATA)
        args.instances = [*args.instances, str(DATA / "swebench" / "verified_test.jsonl.gz")]
    pools = build_pools(groups, load_all_tasks(args.instances), saved_checker(args.static_checks))
    X = np.vstack([p.featurizer.features() for p in pools])
    y = np.concatenate([p.labels for p in pools])
    systems = np.array(
        [str((c.model_extra or {}).get(args.field)) for p in pools for c in groups[p.instance_id]]
    )
    names = sorted(set(systems.tolist()))
    rows = audit(X, y, systems, FEATURE_NAMES)
    lines = [
        "| feature | system AUROC (max one-vs-rest) | system most separated (signed AUROC) | label AUROC "
        "(signed) | proxy by rule | in PROXY_FEATURES |",
        "|---|---|---|---|---|---|",
    ]
    flagged = [r.feature for r in rows if r.proxy]
    for r in rows:
        lines.append(
            f"| `{r.feature}` | {r.system_auroc:.2f} | {r.system} ({r.system_signed:.2f}) | {r.label_auroc:.2f} "
            f"({r.label_signed:.2f}) | {'**yes**' if r.proxy else 'no'} | {'yes' if r.feature in PROXY_FEATURES else 'no'} |"
        )
    text = (
        f"{len(y)} candidates on {len(pools)} instances, {len(names)} values of `{args.field}`; AUROCs are "
        f"direction-free (max(a, 1 - a)), signed value in parentheses.\n"
        f"Rule: proxy when system AUROC >= {SYSTEM_AUROC_MIN} and label AUROC < {LABEL_AUROC_MAX}.\n\n"
        + "\n".join(lines)
        + f"\n\nFlagged by the rule: {', '.join(flagged) or 'none'}; PROXY_FEATURES: {', '.join(PROXY_FEATURES)}.\n"
    )
    print(text)
    if set(flagged) != set(PROXY_FEATURES):
        print("WARNING: PROXY_FEATURES differs from the rule's result on this data; review and update it.")
    if args.md:
        Path(args.md).write_text(text)


if __name__ == "__main__":
    main()
