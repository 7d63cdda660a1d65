"""Adaptive sampling replayed on the pools with saved execution evidence (issue 12's output-differential classes).

`scripts/bench_selection.py --adaptive --evidence FILE`: the mixed pools (lite_candidates_train merged with the
candidates carrying their scripts) that the evidence covers, drawn in random orders and waves as in
selection/training/adaptive.py. The pick after each wave is the shipped `staged` rule on the drawn candidates'
signals replayed from the evidence (their scripts, behaviour vote, regression counts: selection/training/bench.py's
Replay). Two stopping judges are compared on the same draws:

- `free`: what agent.adaptive's judge sees at run time: no execution between waves, behaviour classes are
  identical normalized patches;
- `exec`: the jury's execution run after every wave as well: behaviour classes by what the drawn candidates'
  tests printed (selection.stopping.class_of), execution vetoes.

Labels score the pick only. Verifier scores are out of fold (grouped by instance), averaged over fold splits.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from patchjury.selection.stopping import confidence
from patchjury.selection.training.adaptive import Wave, report, summarize, wave_sizes
from patchjury.selection.training.bench import OURS, Case, Replay, _no_exec, complete_regression

JUDGES = ("free", "exec")


def replay_case(
    case: Case, replay: Replay, seeds: int, rng: np.random.Generator, plan: tuple[int, int] = (2, 2)
) -> dict[str, list[list[Wave]]]:
    """`seeds` draw orders of one case: per judge, the waves of every draw (same picks, different confidences)."""
    rule = replay.rules[OURS]
    n = len(case.keys)
    out: dict[str, list[list[Wave]]] = {j: [] for j in JUDGES}
    for _ in range(seeds):
        order = rng.permutation(n)
        waves: dict[str, list[Wave]] = {j: [] for j in JUDGES}
        for k in wave_sizes(n, *plan):
            s = np.sort(order[:k])
            signals = complete_regression(replay.signals(s), rule)
            win = rule.decide(signals).winner
            ids = [replay.ids[i] for i in s]
            value = float(case.labels[s[ids.index(win)]]) if win is not None else 0.0
            free = _no_exec(signals)
            for name, sig, pick in (("free", free, rule.decide(free).winner), ("exec", signals, win)):
                c = confidence(sig, pick, n)
                waves[name].append(Wave(k, c.stability, c.verifier or 0.0, c.vetoed, value))
        for j in JUDGES:
            out[j].append(waves[j])
    return out


def run_evidence_setting(args: Any, data: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """Markdown for both judges on the evidence's pools, and their summaries (for the plot)."""
    from patchjury.selection.training.bench_run import build_cases, excluded, split_models
    from patchjury.selection.training.evidence import load_evidence
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.verifier.features import FEATURE_NAMES
    from patchjury.selection.verifier.model import VerifierModel

    evidence = load_evidence(args.evidence)
    tasks = load_all_tasks(args.instances)
    cases, chosen = build_cases("mixed", data, tasks, evidence, args.exec_signals, args.static_checks or None)
    cases = [c for c in cases if c.instance_id in evidence]
    artifact = VerifierModel.load(args.artifact)
    exclude = excluded("mixed", cases, chosen)
    columns = list(range(len(FEATURE_NAMES)))
    draws: dict[str, dict[str, list[list[Wave]]]] = {j: defaultdict(list) for j in JUDGES}
    splits = split_models("mixed", cases, artifact, exclude, args.repeats, args.seed, args.folds)
    for r, models in enumerate(splits):
        rng = np.random.default_rng(args.seed + r)
        for case in cases:
            replay = Replay(case, models[case.instance_id], columns, rng)
            for j, seqs in replay_case(case, replay, args.adaptive_seeds, rng, tuple(args.waves)).items():
                draws[j][case.instance_id] += seqs
    results, texts = {}, []
    for j in JUDGES:
        name = f"mixed pools with saved evidence, judge `{j}`"
        results[name] = summarize(draws[j])
        texts.append(report(f"{name} ({len(cases)} pools, all with both labels)", results[name]))
    return "\n".join(texts), results
