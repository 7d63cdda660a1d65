"""Adaptive compute measured offline on real labeled pools: sample in waves, stop when the jury is sure.

For each instance and seed, the pool's candidates are drawn in a random order, in waves (2, then 2 more, ... up to
the whole pool, as agent.adaptive samples trajectories). After each wave:
- the *stopping judge* sees what the runtime judge would see between waves: the execution-free signals of the
  candidates drawn so far (behaviour classes, out-of-fold verifier scores, static checks), the execution-free
  staged decision, and selection.stopping.confidence() of that decision with the pool size as the budget;
- the *pick* is what the full jury would choose if sampling stopped here: the shipped `staged` rule on the drawn
  candidates' execution-free and saved execution signals (selection/training/replay.py).
The first wave whose confidence reaches the threshold (or the last wave) gives K used and the pick's label. Mean K
and accuracy are averaged over instances and seeds (and fold splits), for every threshold of every rule, next to
the fixed-K curve (the same picks at K = 2, 4, ... for all) and Best@N (the whole pool). Labels are read only to
score a pick, never by the judge. `--same-agent` keeps the 3 SWE-agent runs of lite_pools_with_tests_train on the
165 instances that have all three (provenance used to build the setting only, never as a signal).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from patchjury.records import Candidate
from patchjury.selection.candidates import text_lines
from patchjury.selection.stopping import StopRuleName, confidence
from patchjury.selection.training.replay import ExecEntry, subset_signals

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
RULES: tuple[StopRuleName, ...] = ("either", "stability", "verifier")
SAME_AGENT_SYSTEM = "sweagent-gpt4-0125"


def wave_sizes(n: int, first: int = 2, step: int = 2) -> list[int]:
    """Candidates drawn after each wave: first, first + step, ..., n."""
    sizes = list(range(min(first, n), n, step))
    return [*sizes, n] if not sizes or sizes[-1] != n else sizes


@dataclass
class Wave:
    """One wave of one draw: how many candidates, the judge's confidences per rule, the pick's label."""

    k: int
    stability: float
    verifier: float
    vetoed: bool
    value: float

    def confidence(self, rule: StopRuleName) -> float:
        if self.vetoed:
            return 0.0
        if rule == "stability":
            return self.stability
        if rule == "verifier":
            return self.verifier
        return max(self.stability, self.verifier)


def load_rows(path: str | Path, same_agent: bool = False) -> list[Candidate]:
    """Candidates of a pool file, also the pools-with-tests format (its `trajectory` is a list of steps, kept out
    of the candidate: nothing here reads trajectories). `same_agent`: only the 3 SWE-agent runs, on the instances
    that have all three."""
    rows = [json.loads(line) for _, line in text_lines(Path(path)) if line.strip()]
    if same_agent:
        runs: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            if r.get("system") == SAME_AGENT_SYSTEM:
                runs[r["instance_id"]].add(r.get("run", ""))
        keep = {iid for iid, rs in runs.items() if len(rs) == 3}
        rows = [r for r in rows if r.get("system") == SAME_AGENT_SYSTEM and r["instance_id"] in keep]
    out: list[Candidate] = []
    count: dict[str, int] = defaultdict(int)
    for r in rows:
        r = {k: v for k, v in r.items() if k != "trajectory"}
        r["model_patch"] = r.get("model_patch") or ""
        r["candidate_id"] = f"c{count[r['instance_id']]}"
        count[r["instance_id"]] += 1
        out.append(Candidate.model_validate(r))
    return out


def replay(
    pool: Any,
    model: Any,
    cands: Sequence[Candidate],
    entries: Sequence[ExecEntry | None],
    static: Sequence[int | None] | None,
    rule: Any,
    seeds: int,
    rng: np.random.Generator,
    plan: tuple[int, int] = (2, 2),
) -> list[list[Wave]]:
    """`seeds` random draw orders of one pool, each as its waves (`plan`: the first wave's size and the step)."""
    y, feat = pool.labels, pool.featurizer
    keys = feat.cluster_keys()
    n = len(y)
    out = []
    for _ in range(seeds):
        order = rng.permutation(n)
        ids = [
            f"c{v}" for v in rng.permutation(n)
        ]  # opaque: the rules' last-resort tie-break by id is random
        waves = []
        for k in wave_sizes(n, *plan):
            s = order[:k]
            scores = model.predict_proba(feat.features(s))
            sid = [ids[i] for i in s]
            st = [static[i] for i in s] if static is not None else None
            free = subset_signals([None] * k, [keys[i] for i in s], scores, sid, st)
            with_exec = subset_signals([entries[i] for i in s], [keys[i] for i in s], scores, sid, st)
            conf = confidence(free, rule.decide(free).winner, n)
            win = rule.decide(with_exec).winner
            value = float(y[s[sid.index(win)]]) if win is not None else 0.0
            waves.append(Wave(k, conf.stability, conf.verifier or 0.0, conf.vetoed, value))
        out.append(waves)
    return out


def stop_at(waves: Sequence[Wave], rule: StopRuleName, threshold: float) -> Wave:
    return next((w for w in waves if w.confidence(rule) >= threshold), waves[-1])


def summarize(draws: dict[str, list[list[Wave]]]) -> dict[str, Any]:
    """Curves over thresholds per rule, the fixed-K curve and Best@N, from every instance's draws."""
    flat = [(iid, ws) for iid, seqs in draws.items() for ws in seqs]
    per_instance = lambda f: float(np.mean([np.mean([f(ws) for ws in seqs]) for seqs in draws.values()]))  # noqa: E731
    best_n = per_instance(lambda ws: ws[-1].value)
    mean_n = per_instance(lambda ws: ws[-1].k)
    fixed = []
    for k in range(2, max(ws[-1].k for _, ws in flat) + 1, 2):
        pick = lambda ws, k=k: next((w for w in ws if w.k >= k), ws[-1])  # noqa: E731
        fixed.append(
            (k, per_instance(lambda ws, p=pick: p(ws).k), per_instance(lambda ws, p=pick: p(ws).value))
        )
    curves = {
        rule: [
            (
                t,
                per_instance(lambda ws, r=rule, t=t: stop_at(ws, r, t).k),
                per_instance(lambda ws, r=rule, t=t: stop_at(ws, r, t).value),
            )
            for t in THRESHOLDS
        ]
        for rule in RULES
    }
    # a bound, not a rule (it reads the labels): the earliest wave whose pick is as good as the whole pool's
    first_as_good = lambda ws: next(w for w in ws if w.value >= ws[-1].value)  # noqa: E731
    oracle_k = per_instance(lambda ws: first_as_good(ws).k)
    # where its saving comes from: draws whose whole-pool pick is right (stop once the pick is right) or wrong
    # (nothing more to win: stop after the first wave); each half alone, the other draws sampling all N
    oracle_right_k = per_instance(lambda ws: first_as_good(ws).k if ws[-1].value > 0 else ws[-1].k)
    oracle_wrong_k = per_instance(lambda ws: first_as_good(ws).k if ws[-1].value <= 0 else ws[-1].k)
    return {
        "best_n": best_n,
        "mean_n": mean_n,
        "fixed": fixed,
        "curves": curves,
        "instances": len(draws),
        "oracle_stop_k": oracle_k,
        "oracle_right_k": oracle_right_k,
        "oracle_wrong_k": oracle_wrong_k,
    }


def report(name: str, s: dict[str, Any]) -> str:
    """Markdown: the curves against Best@N and the target (Best@N's accuracy at <= 60% of its mean K)."""
    budget = 0.6 * s["mean_n"]
    lines = [
        f"### {name} ({s['instances']} instances)",
        "",
        f"Best@N (the whole pool, mean K {s['mean_n']:.2f}): **{100 * s['best_n']:.1f}%**. Target: that accuracy at "
        f"mean K <= {budget:.2f}.",
        "",
        "| rule | threshold | mean K | K / N | accuracy | vs Best@N | meets target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for rule, rows in s["curves"].items():
        for t, k, acc in rows:
            ok = "yes" if k <= budget and acc >= s["best_n"] - 1e-9 else "no"
            lines.append(
                f"| {rule} | {t:.2f} | {k:.2f} | {k / s['mean_n']:.2f} | {100 * acc:.1f} | "
                f"{100 * (acc - s['best_n']):+.1f} | {ok} |"
            )
    lines += ["", f"Oracle stop (a bound that reads the labels, not a rule: the first wave whose pick is as good as "
              f"the whole pool's): Best@N's accuracy at mean K {s['oracle_stop_k']:.2f} "
              f"({s['oracle_stop_k'] / s['mean_n']:.2f} N). Its two halves alone: stopping early only where the "
              f"whole pool's pick is right (once the pick is right) {s['oracle_right_k']:.2f} "
              f"({s['oracle_right_k'] / s['mean_n']:.2f} N); only where it is wrong (after the first wave) "
              f"{s['oracle_wrong_k']:.2f} ({s['oracle_wrong_k'] / s['mean_n']:.2f} N)."]  # fmt: skip
    lines += ["", "Fixed K (every instance stops at K): " + ", ".join(
        f"K={k} {100 * acc:.1f}" for k, _, acc in s["fixed"]
    ), ""]  # fmt: skip
    return "\n".join(lines)


def plot(settings: dict[str, dict[str, Any]], png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(settings))
    n_rows = -(-len(settings) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(5.2 * cols, 4.2 * n_rows), dpi=100, squeeze=False)
    for ax in axes.flat[len(settings) :]:
        ax.set_visible(False)
    for ax, (name, s) in zip(axes.flat, settings.items(), strict=False):
        fk = s["fixed"]
        ax.plot([k for _, k, _ in fk], [100 * a for _, _, a in fk], "k--o", ms=3, label="fixed K")
        for rule, rows in s["curves"].items():
            ax.plot(
                [k for _, k, _ in rows],
                [100 * a for _, _, a in rows],
                marker="o",
                ms=3,
                label=f"adaptive: {rule}",
            )
        ax.scatter([s["mean_n"]], [100 * s["best_n"]], c="red", zorder=5, label="Best@N (whole pool)")
        ax.axvline(0.6 * s["mean_n"], c="grey", lw=1, ls=":", label="60% of its mean K")
        ax.axhline(100 * s["best_n"], c="red", lw=0.8, ls=":")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("mean K (trajectories sampled per instance)")
        ax.set_ylabel("resolved by the pick (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png)


def run_bench(args: Any, data: Path, root: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """`scripts/bench_selection.py --adaptive`: the three settings' curves (markdown) and summaries (for `plot`)."""
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.patch_parse import patch_sha1
    from patchjury.selection.selectors import make_rule
    from patchjury.selection.static_check import error_count, saved_checker
    from patchjury.selection.training.replay import load_exec_signals
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.training.train import build_pools, fold_models
    from patchjury.selection.verifier.model import VerifierModel

    settings = {
        "lite_candidates_train (9 runs of 5 systems)": (
            data / "candidates" / "lite_candidates_train.jsonl.gz",
            False,
        ),
        "lite_pools_with_tests_train (3 SWE-agent runs + CodeR)": (
            data / "candidates" / "lite_pools_with_tests_train.jsonl.gz",
            False,
        ),
        "same agent (3 SWE-agent runs, 165 instances)": (
            data / "candidates" / "lite_pools_with_tests_train.jsonl.gz",
            True,
        ),
    }
    tasks = load_all_tasks(args.instances)
    exec_sig = load_exec_signals(args.exec_signals) if args.exec_signals else {}
    checker = saved_checker(args.static_checks) if args.static_checks else None
    shipped = VerifierModel.load(args.artifact)
    kind, params = shipped.kind, dict(shipped.meta["cv_chosen"]["params"])
    augment = int(shipped.meta.get("augment", 0))
    rule = make_rule(SelectionConfig(selector="staged"))
    rng = np.random.default_rng(args.seed)
    results, texts = {}, []
    for name, (path, same_agent) in settings.items():
        cands = load_rows(path, same_agent)
        groups: dict[str, list[Candidate]] = defaultdict(list)
        for c in cands:
            groups[c.instance_id].append(c)
        pools = build_pools(dict(groups), tasks)
        draws: dict[str, list[list[Wave]]] = defaultdict(list)
        for r in range(args.repeats):
            models = fold_models(pools, kind, params, args.folds, augment, args.seed + r)
            for p in pools:
                cs = groups[p.instance_id]
                sig = exec_sig.get(p.instance_id, {})
                entries = [sig.get(patch_sha1(c.model_patch)) for c in cs]
                static = (
                    [error_count(x) for x in checker.reports(tasks[p.instance_id], cs)] if checker else None
                )
                draws[p.instance_id] += replay(
                    p,
                    models[p.instance_id],
                    cs,
                    entries,
                    static,
                    rule,
                    args.adaptive_seeds,
                    rng,
                    tuple(args.waves),
                )
        results[name] = summarize(draws)
        texts.append(report(name, results[name]))
        print(texts[-1], flush=True)
    return "\n".join(texts), results
