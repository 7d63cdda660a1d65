"""Train the execution-free verifier on labeled candidate pools and write the artifact + model card.

    .venv/bin/python scripts/train_verifier.py                # defaults: the lite pool, shipped artifact dir
    .venv/bin/python scripts/train_verifier.py --exclude-features --out /tmp/v   # all features, incl. proxies

By default the system-proxy features (selection.training.proxies.PROXY_FEATURES, found by
scripts/audit_verifier_features.py) are excluded (weight 0).
    .venv/bin/python scripts/train_verifier.py --extra ../shared/data/candidates/devin_labeled.jsonl.gz

Prints grouped-CV AUROC and selection accuracy for each model tried.

    .venv/bin/python scripts/train_verifier.py --nested --seeds 5   # compare model families, writes nothing

    .venv/bin/python scripts/train_verifier.py --trajectory-study   # the trajectory digest on same-agent pools

`--trajectory-study` cross-validates (grouped by instance, 5 folds x 3 repeats) the verifier on the same-agent pools
(3 SWE-agent runs on 165 Lite instances, every candidate with its trajectory) with and without the trajectory
digest features (selection/verifier/trajectory.py); it writes nothing.

`--nested` runs nested grouped CV (selection/training/nested.py): pointwise logistic regression (the shipped
family), a conditional-logit (listwise) and a pairwise model, on the shipped features, with pool-relative extras,
and without the features that fingerprint the producing system; every choice is made in inner folds on the
outer training instances only. It prints the outer-fold selection accuracy per seed and never writes an artifact.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default=str(DATA / "candidates" / "lite_candidates_train.jsonl.gz"))
    ap.add_argument("--instances", nargs="+", default=[str(DATA / "swebench" / "lite_test.jsonl.gz")])
    ap.add_argument(
        "--extra", nargs="*", default=[], help="extra labeled files, used on the training side only"
    )
    ap.add_argument("--out", default=str(ROOT / "selection" / "verifier" / "artifacts"))
    ap.add_argument("--kinds", nargs="+", default=["logreg", "gbdt"], choices=["logreg", "gbdt"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--augment", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--exclude-features",
        nargs="*",
        default=None,
        help="features the model must not use (default: selection.training.proxies.PROXY_FEATURES, the features "
        "that identify the producing system; pass the flag with no names to use every feature)",
    )
    ap.add_argument(
        "--static-checks",
        default="",
        help="saved static-check reports (scripts/collect_static_checks.py), e.g. "
        "docs/data/static-checks-lite.jsonl.gz, for the static_* features; by default they read 'not checked' "
        "(the shipped v2 artifact: on the lite pool they did not change selection, docs/selection-benchmark.md)",
    )
    ap.add_argument("--nested", action="store_true", help="nested-CV comparison of model families only")
    ap.add_argument("--seeds", type=int, default=5, help="--nested: fold splits (seeds 0..N-1)")
    ap.add_argument("--trajectory-study", action="store_true", help="the digest features on same-agent pools")
    args = ap.parse_args()
    if args.trajectory_study:
        trajectory_study(args)
        return
    if args.nested:
        nested_report(args)
        return

    from patchjury.selection.static_check import saved_checker
    from patchjury.selection.training.proxies import PROXY_FEATURES
    from patchjury.selection.training.run import run_training

    exclude = PROXY_FEATURES if args.exclude_features is None else args.exclude_features

    static = saved_checker(args.static_checks)
    run_training(
        args.candidates,
        args.instances,
        args.out,
        args.kinds,
        args.extra,
        args.folds,
        args.repeats,
        args.augment,
        args.seed,
        exclude=exclude,
        static=static,
        static_label=Path(args.static_checks).name,
    )


def trajectory_study(args: argparse.Namespace) -> None:
    import numpy as np

    from patchjury.selection.training.bench_run import TRAJECTORY_ONLY
    from patchjury.selection.training.bestk import pick_value
    from patchjury.selection.training.pools import lite_pools
    from patchjury.selection.training.proxies import PROXY_FEATURES
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.training.train import build_pools, cross_validate
    from patchjury.selection.verifier.trajectory import TRAJECTORY_FEATURES

    pools = build_pools(lite_pools(DATA, "same_agent"), load_all_tasks(args.instances))
    mixed = [p for p in pools if 0 < p.labels.sum() < len(p.labels)]
    print(
        f"{len(pools)} same-agent pools, {len(mixed)} with both labels; grouped {args.folds}-fold x {args.repeats}"
    )
    print("| features | C | AUROC | selection accuracy, all pools | on the pools whose labels differ |")
    print("|---|---|---|---|---|")
    sets = {
        "patch and pool only": sorted({*PROXY_FEATURES, *TRAJECTORY_FEATURES, *TRAJECTORY_ONLY}),
        "+ trajectory digest": sorted(PROXY_FEATURES),
    }
    for name, exclude in sets.items():
        for c in (0.1, 1.0):
            params = {"C": c, "pools": "all", "exclude": exclude}
            rep = cross_validate(pools, "logreg", params, args.folds, args.repeats, args.augment, args.seed)
            acc = np.mean([pick_value(rep.oof[p.instance_id], p.labels, p.featurizer.valid) for p in mixed])
            print(
                f"| {name} | {c} | {rep.auroc:.3f} | {100 * rep.selection_accuracy:.1f} | {100 * acc:.1f} |"
            )


def nested_report(args: argparse.Namespace) -> None:
    import numpy as np
    from rich.progress import track

    from patchjury.selection.candidates import group_by_instance, load_candidates
    from patchjury.selection.static_check import saved_checker
    from patchjury.selection.training.nested import Data, default_grid, nested_cv
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.training.train import build_pools

    pools = build_pools(
        group_by_instance(load_candidates(args.candidates)),
        load_all_tasks(args.instances),
        saved_checker(args.static_checks),
    )
    data = Data(pools, augment=args.augment)
    grids = {
        "nested: all families, base/ext features": default_grid(("base", "ext")),
        "nested: all families, without system-proxy features": default_grid(("base-proxy", "ext-proxy")),
    }
    fixed = [("point", "base", 1.0), ("point", "base-proxy", 1.0), ("clogit", "base", 3.0)]
    results = [
        nested_cv(data, grids, fixed, seed, outer=args.folds)
        for seed in track(range(args.seeds), description="nested CV seeds")
    ]
    print(f"| method | outer selection accuracy, mean over {args.seeds} seeds | sd | min-max |")
    print("|---|---|---|---|")
    for name in results[0].accuracy:
        v = 100 * np.array([r.accuracy[name] for r in results])
        print(f"| {name} | {v.mean():.1f} | {v.std():.1f} | {v.min():.1f}-{v.max():.1f} |")
    for name in grids:
        picks = [c for r in results for c in r.chosen[name]]
        counts = sorted({c: picks.count(c) for c in picks}.items(), key=lambda t: -t[1])
        print(f"{name}: inner-CV choices " + ", ".join(f"{c} x{n}" for c, n in counts))


if __name__ == "__main__":
    main()
