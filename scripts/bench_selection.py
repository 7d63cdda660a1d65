"""Best@K of candidate selectors on a labeled pool (execution-free methods), with grouped cross-validation.

    .venv/bin/python scripts/bench_selection.py \
        --candidates ../shared/data/candidates/lite_candidates_train.jsonl.gz \
        --instances ../shared/data/swebench/lite_test.jsonl.gz --png docs/selection-bestk.png --md /tmp/bestk.md

For K = 1..N, every K-subset of each instance's pool is enumerated (or `--draws` random subsets when there are more
than `--max-exact`); ties count as the mean correctness of the tied set; instances with fewer than K candidates use
their whole pool. Verifier scores come from models trained on the other folds' instances only (grouped K-fold), and
pool features are recomputed on each subset. Execution-based methods need each candidate's tests run in the
instance's environment (`patchjury select`); pools without tests get "n/a" for them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
METHODS = [
    "oracle",
    "random",
    "majority vote",
    "verifier only",
    "majority vote, verifier tie-break",
    "ours (verifier-weighted cluster vote)",
]
LEARNED = "ours (learned weights, fitted out of fold)"
EXEC_METHODS = ["execution only", "R2E-Gym hybrid", "ours (staged: execution, agreement, verifier)", LEARNED]
"""With `--exec-signals`: execution only (kept reproduction tests passed, then fewest regression failures), and the
shipped `r2e_hybrid` and `staged` rules run unchanged on each subset's rebuilt signals (selection/training/replay.py).
Instances without saved signals (no environment) get no execution evidence, as in `patchjury select`. The `learned`
rule's weights are fitted (selection/training/weights.py) on the full pools of the reported instances with signals in
the verifier's other folds, so no instance is scored by weights fitted on it."""
""""ours" is the verifier-weighted cluster vote, fixed before any of these numbers were computed (it is what
`patchjury select` uses without execution evidence); the tie-break row is a second a-priori combination reported
alongside, never swapped in after seeing the results."""


def learned_rules(
    pools: list, groups: dict, models: dict, exec_sig: dict, wanted: set, static: dict
) -> tuple[dict, list]:
    """instance_id -> the `learned` rule with weights fitted on the other verifier folds' pools (with signals), and
    those full pools' labeled signals."""
    from patchjury.selection.patch_parse import patch_sha1
    from patchjury.selection.selectors import Learned
    from patchjury.selection.training.replay import subset_signals
    from patchjury.selection.training.weights import fit_weights

    fold: dict[int, list] = defaultdict(list)
    for p in pools:
        if p.instance_id not in wanted or p.instance_id not in exec_sig:
            continue
        feat, everyone = p.featurizer, np.arange(len(p.labels))
        sig = exec_sig[p.instance_id]
        entries = [sig.get(patch_sha1(c.model_patch)) for c in groups[p.instance_id]]
        ids = [f"c{i}" for i in everyone]
        scores = models[p.instance_id].predict_proba(feat.features(everyone))
        signals = subset_signals(entries, feat.cluster_keys(), scores, ids, static.get(p.instance_id))
        fold[id(models[p.instance_id])].append((p.instance_id, signals, [bool(v) for v in p.labels]))
    out = {}
    for p in pools:
        train = [lp for key, group in fold.items() if key != id(models[p.instance_id]) for lp in group]
        out[p.instance_id] = Learned(fit_weights(train))
    return out, [lp for group in fold.values() for lp in group]


def regression_runs_line(labeled: list) -> str:
    """How many regression runs (one per applying cluster) `regression.scope=contenders` needs on the full pools."""
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.selectors import make_rule

    runs = {"all": 0, "staged": 0, "r2e_hybrid": 0}
    for _, signals, _ in labeled:
        measured = [s for s in signals if s.alive and s.regression_failures is not None]
        runs["all"] += len({s.cluster for s in measured})
        for name in ("staged", "r2e_hybrid"):
            wanted = make_rule(SelectionConfig(selector=name)).regression_contenders(signals)
            runs[name] += len({s.cluster for s in measured if wanted is None or s.candidate_id in wanted})
    return (
        f"Regression runs on the full pools with signals (one per applying cluster): {runs['all']} with "
        f"regression.scope=all; with `contenders`, staged needs {runs['staged']} and r2e_hybrid {runs['r2e_hybrid']}."
    )


def best_single_system(groups: dict, labels: dict) -> tuple[str, float, dict[str, float]] | None:
    """Reference point for the report only (uses provenance for bookkeeping, never for selecting): the system with
    the highest resolve rate, its rate, and its label per instance it answered."""
    per: dict[str, dict[str, float]] = defaultdict(dict)
    for iid, cands in groups.items():
        for cand, y in zip(cands, labels[iid], strict=True):
            extra = cand.model_extra or {}
            name = extra.get("system") or cand.model_name_or_path
            if name:
                per[f"{name}/{extra.get('run', '')}".rstrip("/")][iid] = float(y)
    if not per:
        return None
    name, ys = max(per.items(), key=lambda kv: np.mean(list(kv[1].values())))
    return name, float(np.mean(list(ys.values()))), ys


def paired_lines(full_pool: dict, ref: tuple | None, seed: int) -> list[str]:
    """Paired bootstrap over instances of the full-pool picks: ours against R2E-Gym and the best single system."""
    from patchjury.selection.training.bestk import paired_bootstrap

    rng = np.random.default_rng(seed)
    ours = "ours (staged: execution, agreement, verifier)"
    value = {iid: {m: float(np.mean(v)) for m, v in row.items()} for iid, row in full_pool.items()}
    pairs = [(ours, "R2E-Gym hybrid", sorted(value), lambda iid: value[iid]["R2E-Gym hybrid"])]
    pairs.append((LEARNED, "R2E-Gym hybrid", sorted(value), lambda iid: value[iid]["R2E-Gym hybrid"]))
    if ref:
        answered = sorted(set(value) & set(ref[2]))
        pairs.append((ours, f"best single system ({ref[0]})", answered, lambda iid: ref[2][iid]))
    out = ["Paired bootstrap over instances (full pools, 10,000 resamples, 95% interval), in points:"]
    for mine, other, iids, theirs in pairs:
        d, lo, hi = paired_bootstrap([value[i][mine] for i in iids], [theirs(i) for i in iids], 10_000, rng)
        out.append(
            f"- {mine} minus {other}: {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] on {len(iids)}"
        )
    return out


def static_errors(path: str, groups: dict, tasks: dict) -> dict[str, list[int | None]]:
    """instance_id -> per candidate (pool order) static error count, None when not checked or not in the file."""
    from patchjury.selection.static_check import error_count, saved_checker

    checker = saved_checker(path)
    assert checker is not None  # path is non-empty
    return {
        iid: [error_count(r) for r in checker.reports(tasks[iid], cands)] for iid, cands in groups.items()
    }


def evidence_main(args: argparse.Namespace) -> None:
    """Issue 12's benchmark: every rule replayed from saved evidence on the mixed and same-agent settings."""
    from rich.progress import Progress

    from patchjury.selection.training.bench import (
        EXECUTION,
        MAJORITY,
        METHODS,
        OURS,
        OURS_NO_EXEC,
        OURS_NO_VOTE,
        R2E,
        VERIFIER,
        table,
    )
    from patchjury.selection.training.bench_run import (
        bootstrap_lines,
        build_cases,
        cv_lines,
        per_repository,
        rate_lines,
        run_setting,
        verifier_cv,
    )
    from patchjury.selection.training.evidence import evidence_stats, load_evidence
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.verifier.model import VerifierModel

    t0 = time.time()
    evidence = load_evidence(args.evidence)
    tasks = load_all_tasks(args.instances)
    artifact = VerifierModel.load(args.artifact)
    st = evidence_stats(evidence)
    origins = sorted(st.tests)
    text = [
        f"Evidence ({', '.join(Path(p).name for p in args.evidence)}): {st.instances} instances, {st.candidates} "
        f"candidates in {st.subjects} clusters run, {st.cells} test runs, {st.container_s / 60:.0f} "
        f"container-minutes (workers x wall time of tests and regression; image builds not counted).",
        "",
        "| tests by origin | run | exit 2 on the original (exit-code convention) | informative (some candidate "
        "behaves differently from the original) |",
        "|---|---|---|---|",
        *(f"| {o} | {st.tests[o]} | {st.exit_code[o]} | {st.informative[o]} |" for o in origins),
        "",
        f"Instances with at least one informative test: {st.instances_informative} of {st.instances}.",
    ]
    plots = {}
    for setting in args.settings:
        cases, chosen = build_cases(
            setting, DATA, tasks, evidence, args.exec_signals, args.static_checks or None
        )
        all_cases = cases
        if args.evidence_only:
            cases = [c for c in cases if c.instance_id in evidence]
        if args.subset:
            wanted = {x.strip() for x in Path(args.subset).read_text().splitlines() if x.strip()}
            cases = [c for c in cases if c.instance_id in wanted]
        missing = [c.instance_id for c in cases if c.mixed and c.evidence is None]
        with Progress(transient=True) as bar:
            job = bar.add_task(f"Best@K {setting}", total=args.repeats * len(cases))
            result = run_setting(
                setting,
                cases,
                chosen,
                artifact,
                args.repeats,
                args.seed,
                progress=lambda _, job=job: bar.advance(job),
            )
        methods = list(METHODS)
        mixed = sum(c.mixed for c in cases)
        n_cands = sum(len(c.keys) for c in cases)
        text += [
            "",
            f"### {setting}: {len(cases)} instances, {n_cands} candidates ({mixed} instances with both resolved and "
            f"unresolved candidates; {len(missing)} of those without evidence: {', '.join(missing) or 'none'})",
            "",
            table(result.curves, methods),
            "",
            f"Verifier features left out ({len(result.excluded)}: shipped exclusions and what the audit rule flags on "
            f"these pools): {', '.join(result.excluded)}.",
            "",
        ]
        reported = {c.instance_id for c in cases}
        refs_here = {n: {i: v for i, v in r.items() if i in reported} for n, r in result.references.items()}
        refs_here = {n: r for n, r in refs_here.items() if r}
        result.references = refs_here
        refs = sorted(refs_here, key=lambda n: -np.mean(list(refs_here[n].values())))
        single = [n for n in refs if "oracle" not in n]  # the best single system (mixed) or run (same agent)
        text += [
            "References on these instances (from provenance, for the report only): "
            + "; ".join(
                f"{n} {100 * np.mean(list(refs_here[n].values())):.1f}% of {len(refs_here[n])}"
                for n in refs[:4]
            ),
            "",
            "Full pools, resolve rate with bootstrap interval over instances (10,000 resamples, 95%):",
            *rate_lines(result, methods[1:], args.seed),
            "",
            "Paired bootstrap over instances (full pools, 10,000 resamples, 95% interval), in points:",
            *bootstrap_lines(
                result,
                [
                    (OURS, R2E),
                    (OURS, OURS_NO_VOTE),
                    (OURS, OURS_NO_EXEC),
                    (OURS_NO_VOTE, OURS_NO_EXEC),
                    (OURS, MAJORITY),
                    (OURS, VERIFIER),
                    (OURS, EXECUTION),
                ],
                single[:1],
                args.seed,
            ),
            "",
            "Paired bootstrap at every K (Best@K difference, points, 95% interval over instances):",
            *(
                f"- {a} minus {b}: "
                + "; ".join(
                    f"K={k + 1} {100 * (result.curves[a][k] - result.curves[b][k]):+.1f} "
                    f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
                    for k, (lo, hi) in enumerate(result.interval(a, args.seed, b))
                )
                for a, b in ((OURS, OURS_NO_EXEC), (OURS, OURS_NO_VOTE), (OURS, R2E))
            ),
            "",
            per_repository(result, [MAJORITY, VERIFIER, EXECUTION, R2E, OURS, OURS_NO_VOTE, OURS_NO_EXEC]),
        ]
        if setting == "same_agent" and args.verifier_cv:
            rows = verifier_cv(setting, all_cases, chosen, artifact, args.repeats, args.seed)
            n_mixed = sum(c.mixed for c in all_cases)
            text += [
                "",
                f"Verifier, grouped 5-fold CV by instance on all {len(all_cases)} same-agent pools "
                f"({sum(len(c.keys) for c in all_cases)} candidates, {n_mixed} pools with both labels; "
                f"{args.repeats} shuffles):",
                "",
                *cv_lines(rows, args.seed),
            ]
        bands = {m: result.interval(m, args.seed) for m in (OURS, OURS_NO_EXEC)}
        plots[setting] = (result.curves, single[:1], result.references, bands)
    text.append(f"\n({time.time() - t0:.0f} s)")
    out = "\n".join(text) + "\n"
    print(out)
    if args.md:
        Path(args.md).write_text(out)
    if args.png:
        plot(plots, args.png)


def plot(plots: dict, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(plots), figsize=(6 * len(plots) + 3, 4.2), dpi=100, squeeze=False)
    for ax, (setting, (curves, best, refs_all, bands)) in zip(axes[0], plots.items(), strict=True):
        ks = list(range(1, len(next(iter(curves.values()))) + 1))
        for m, vals in curves.items():
            (line,) = ax.plot(ks, [100 * v for v in vals], marker="o", ms=3, label=m)
            if m in bands:
                lo, hi = zip(*bands[m], strict=True)
                ax.fill_between(
                    ks, [100 * v for v in lo], [100 * v for v in hi], color=line.get_color(), alpha=0.12
                )
        for name in best:
            rate = 100 * np.mean(list(refs_all[name].values()))
            ax.axhline(rate, ls="--", c="grey", lw=1, label=f"best single on these instances ({rate:.1f}%)")
        ax.set_title(f"Best@K, {setting} (bands: 95% bootstrap over instances)")
        ax.set_xticks(ks)
        ax.set_xlabel("K (candidates per instance)")
        ax.set_ylabel("resolved (%)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(png)
    print(f"wrote {png}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default=str(DATA / "candidates" / "lite_candidates_train.jsonl.gz"))
    ap.add_argument("--instances", nargs="+", default=[str(DATA / "swebench" / "lite_test.jsonl.gz")])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--artifact",
        default=str(ROOT / "selection" / "verifier" / "artifacts" / "verifier-v2.json"),
        help="the fold models reuse this artifact's model kind, parameters and augmentation (not its weights)",
    )
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--max-exact", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--repeats", type=int, default=3, help="fold splits averaged (different instance shuffles)"
    )
    ap.add_argument(
        "--exec-signals",
        nargs="*",
        default=[],
        help="execution signals from scripts/collect_exec_signals.py (files merge per candidate)",
    )
    ap.add_argument(
        "--static-checks",
        default="",
        help="saved static-check reports (scripts/collect_static_checks.py): the rules see them as `patchjury "
        "select` does with a repository (the staged rule sets aside patches introducing undefined names)",
    )
    ap.add_argument("--subset", default="", help="file of instance ids (one per line): report on these only")
    ap.add_argument(
        "--per-instance", default="", help="markdown table of every method's full-pool pick per instance"
    )
    ap.add_argument("--png", default="")
    ap.add_argument("--md", default="")
    ap.add_argument(
        "--evidence",
        nargs="*",
        default=[],
        help="saved evidence of scripts/collect_evidence.py: replay every rule on the mixed and same-agent pools",
    )
    ap.add_argument("--settings", nargs="+", default=["mixed", "same_agent"], choices=["mixed", "same_agent"])
    ap.add_argument(
        "--evidence-only",
        action="store_true",
        help="with --evidence: report only the instances the evidence covers",
    )
    ap.add_argument(
        "--verifier-cv",
        action="store_true",
        help="with --evidence: also cross-validate the verifier on all same-agent pools with and without trajectory "
        "features",
    )
    ap.add_argument(
        "--adaptive",
        action="store_true",
        help="adaptive sampling curves (selection/training/adaptive.py); with --evidence also on the pools the "
        "evidence covers, with and without execution between waves (selection/training/adaptive_evidence.py)",
    )
    ap.add_argument(
        "--adaptive-seeds", type=int, default=20, help="random draw orders per pool and fold split"
    )
    ap.add_argument(
        "--waves",
        type=int,
        nargs=2,
        default=[2, 2],
        metavar=("FIRST", "STEP"),
        help="with --adaptive: the first wave's size and how many each later wave adds (adaptive.first_wave, "
        "adaptive.wave)",
    )
    args = ap.parse_args()
    if args.adaptive:
        from patchjury.selection.training.adaptive import plot, run_bench
        from patchjury.selection.training.adaptive_evidence import run_evidence_setting

        text, results = run_bench(args, DATA, ROOT)
        if args.evidence:
            more_text, more = run_evidence_setting(args, DATA)
            print(more_text, flush=True)
            text, results = text + "\n" + more_text, {**results, **more}
        if args.png:
            plot(results, args.png)
        if args.md:
            Path(args.md).write_text(text)
        return
    if args.evidence:
        evidence_main(args)
        return

    from rich.progress import track

    from patchjury.selection.candidates import group_by_instance, load_candidates
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.patch_parse import patch_sha1
    from patchjury.selection.selectors import make_rule
    from patchjury.selection.training.bestk import (
        best_at_k,
        cluster_sum_value,
        majority_tiebreak_value,
        majority_value,
        oracle_value,
        pick_value,
        random_value,
    )
    from patchjury.selection.training.replay import (
        execution_only_value,
        load_exec_signals,
        subset_signals,
    )
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.training.train import build_pools, fold_models
    from patchjury.selection.verifier.model import VerifierModel

    t0 = time.time()
    cands = load_candidates(args.candidates)
    groups = group_by_instance(cands)
    wanted = set(groups)  # reported instances; verifier folds still train on every pool (out-of-fold)
    if args.subset:
        wanted = {line.strip() for line in Path(args.subset).read_text().splitlines() if line.strip()}
        unknown = wanted - set(groups)
        if unknown:
            sys.exit(
                f"--subset names {len(unknown)} instance(s) without candidates, e.g. {sorted(unknown)[0]}"
            )
    exec_sig = load_exec_signals(args.exec_signals) if args.exec_signals else None
    methods = METHODS + (EXEC_METHODS if exec_sig is not None else [])
    rules = {
        "R2E-Gym hybrid": make_rule(SelectionConfig(selector="r2e_hybrid")),
        "ours (staged: execution, agreement, verifier)": make_rule(SelectionConfig(selector="staged")),
    }
    tasks = load_all_tasks(args.instances)
    pools = build_pools(groups, tasks)
    static = static_errors(args.static_checks, groups, tasks) if args.static_checks else {}
    labels = {p.instance_id: p.labels for p in pools}
    has_tests = any(c.tests for c in cands)
    shipped = VerifierModel.load(args.artifact)
    kind, params = shipped.kind, dict(shipped.meta["cv_chosen"]["params"])
    augment = int(shipped.meta.get("augment", 0))
    rng = np.random.default_rng(args.seed)
    max_n = max(len(p.labels) for p in pools)
    runs: list[dict[str, list[float]]] = []
    full_pool: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in range(args.repeats):
        models = fold_models(pools, kind, params, args.folds, augment, args.seed + r)
        learned, labeled = (
            learned_rules(pools, groups, models, exec_sig, wanted, static) if exec_sig else ({}, [])
        )
        curves_r: dict[str, list[float]] = {m: [] for m in methods}
        for k in track(range(1, max_n + 1), description=f"Best@K (split {r + 1}/{args.repeats})"):
            per: dict[str, list[float]] = {m: [] for m in methods}
            for p in (p for p in pools if p.instance_id in wanted):
                model, feat, y = models[p.instance_id], p.featurizer, p.labels
                keys_all = feat.cluster_keys()
                cache: dict[bytes, np.ndarray] = {}

                def scores(s: np.ndarray, model=model, feat=feat, cache=cache) -> np.ndarray:
                    key = s.tobytes()
                    if key not in cache:
                        cache[key] = model.predict_proba(feat.features(s))
                    return cache[key]

                fns = {
                    "oracle": lambda s, y=y: oracle_value(y[s]),
                    "random": lambda s, y=y: random_value(y[s]),
                    "majority vote": lambda s, y=y, ka=keys_all: majority_value([ka[i] for i in s], y[s]),
                    "verifier only": lambda s, y=y, feat=feat, sc=scores: pick_value(
                        sc(s), y[s], feat.valid[s]
                    ),
                    "majority vote, verifier tie-break": lambda s, y=y, ka=keys_all, sc=scores: (
                        majority_tiebreak_value([ka[i] for i in s], sc(s), y[s])
                    ),
                    "ours (verifier-weighted cluster vote)": lambda s, y=y, ka=keys_all, sc=scores: (
                        cluster_sum_value([ka[i] for i in s], sc(s), y[s])
                    ),
                }
                if exec_sig is not None:
                    sig = exec_sig.get(p.instance_id, {})
                    entries = [sig.get(patch_sha1(c.model_patch)) for c in groups[p.instance_id]]
                    # random opaque ids: the rules' last-resort tie-break (by id) then averages over tied sets
                    ids = [f"c{v}" for v in rng.permutation(len(y))]

                    def sub(
                        s, entries=entries, ka=keys_all, sc=scores, ids=ids, st=static.get(p.instance_id)
                    ):
                        return subset_signals(
                            [entries[i] for i in s],
                            [ka[i] for i in s],
                            sc(s),
                            [ids[i] for i in s],
                            [st[i] for i in s] if st is not None else None,
                        )

                    def ruled(s, rule, y=y, sub=sub, ids=ids):
                        win = rule.decide(sub(s)).winner
                        return float(y[ids.index(win)]) if win is not None else 0.0

                    fns["execution only"] = lambda s, y=y, sub=sub: execution_only_value(sub(s), y[s])
                    for name, rule in rules.items():
                        fns[name] = lambda s, rule=rule, ruled=ruled: ruled(s, rule)
                    fns[LEARNED] = lambda s, rule=learned[p.instance_id], ruled=ruled: ruled(s, rule)
                for m, fn in fns.items():
                    per[m].append(best_at_k(len(y), k, fn, args.draws, rng, args.max_exact))
                    if k == max_n:
                        full_pool[p.instance_id][m].append(per[m][-1])
            for m in methods:
                curves_r[m].append(float(np.mean(per[m])))
        runs.append(curves_r)
    curves = {m: [float(np.mean([run[m][i] for run in runs])) for i in range(max_n)] for m in methods}
    spread = {m: (min(run[m][-1] for run in runs), max(run[m][-1] for run in runs)) for m in methods}
    ref = best_single_system({k: v for k, v in groups.items() if k in wanted}, labels)
    elapsed = time.time() - t0

    head = "| method | " + " | ".join(f"K={k}" for k in range(1, max_n + 1)) + " |"
    sep = "|---|" + "---|" * max_n
    lines = [head, sep]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join(f"{100 * v:.1f}" for v in curves[m]) + " |")
    if exec_sig is None:
        na = (
            "n/a (pool has no tests)" if not has_tests else "n/a (needs `patchjury select` with environments)"
        )
        na += "; pass --exec-signals"
        lines.append(f"| execution only | {na} |" + " |" * (max_n - 1))
        lines.append(f"| R2E-Gym hybrid | {na} |" + " |" * (max_n - 1))
    table = "\n".join(lines)
    notes = [
        f"{sum(len(groups[k]) for k in wanted)} candidates, {len(wanted)} instances reported"
        f" (verifier folds trained on all {len(pools)} pools), pool sizes {min(len(p.labels) for p in pools)}-{max_n}; "
        f"verifier `{kind}` {params} (as shipped), out-of-fold: {args.folds}-fold grouped CV, augment {augment}; "
        f"{elapsed:.0f} s. Values are means over {args.repeats} fold splits; at K={max_n} the verifier rows ranged "
        + ", ".join(
            f"{m} {100 * lo:.1f}-{100 * hi:.1f}"
            for m, (lo, hi) in spread.items()
            if "verifier" in m or "ours" in m or m in EXEC_METHODS
        )
        + ".",
    ]
    if ref:
        notes.append(
            f"Best single system (reference, from provenance, not a selector input): {ref[0]} "
            f"{100 * ref[1]:.1f}% of its {len(ref[2])} instances."
        )
    if exec_sig is not None:
        notes += ["", *paired_lines(full_pool, ref, args.seed), "", regression_runs_line(labeled)]
    text = table + "\n\n" + "\n".join(notes) + "\n"
    print(text)
    if args.md:
        Path(args.md).write_text(text)
    if args.per_instance:
        rows = [
            "| instance | candidates | resolved | " + " | ".join(methods) + " |",
            "|---|---|---|" + "---|" * len(methods),
        ]
        for iid in sorted(full_pool):
            y = labels[iid]
            vals = " | ".join(f"{float(np.mean(full_pool[iid][m])):.2f}" for m in methods)
            rows.append(f"| {iid} | {len(y)} | {int(np.sum(y))} | {vals} |")
        Path(args.per_instance).write_text(
            "Full-pool pick per instance (1 = resolved; ties and fold splits averaged).\n\n"
            + "\n".join(rows)
            + "\n"
        )
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4.2), dpi=100)
        ks = list(range(1, max_n + 1))
        for m in methods:
            ax.plot(ks, [100 * v for v in curves[m]], marker="o", ms=3, label=m)
        if ref:
            ax.axhline(
                100 * ref[1], ls="--", c="grey", lw=1, label=f"best single system ({100 * ref[1]:.1f}%)"
            )
        ax.set_xticks(ks)
        ax.set_xlabel("K (candidates per instance)")
        ax.set_ylabel("resolved (%)")
        ax.set_title(f"Best@K on {Path(args.candidates).name} ({len(wanted)} instances)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        fig.savefig(args.png)
        print(f"wrote {args.png}", file=sys.stderr)


if __name__ == "__main__":
    main()
