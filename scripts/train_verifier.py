"""Train the execution-free verifier on labeled candidate pools and write the artifact + model card.

    .venv/bin/python scripts/train_verifier.py                # defaults: the lite pool, shipped artifact dir
    .venv/bin/python scripts/train_verifier.py --extra ../shared/data/candidates/devin_labeled.jsonl.gz

Prints grouped-CV AUROC and selection accuracy for each model tried.
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
    args = ap.parse_args()

    from selection.verifier.training_run import run_training

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
    )


if __name__ == "__main__":
    main()
