"""Wire the jury for one instance: cluster -> pass matrix -> verifier -> regression (on the candidates still in
contention, `regression.scope`) -> decision rule.

`select_instance` returns the Decision; `run_instance` also returns the pass matrix and regression report
(for explanations). `select_many` runs over instances and writes swebench-format predictions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchjury.envs.protocol import EnvFactory
from patchjury.records import Candidate, Decision, Task
from patchjury.selection.behaviour import Behaviour, read_behaviour
from patchjury.selection.cluster import cluster_candidates
from patchjury.selection.config import SelectionConfig
from patchjury.selection.env_pool import EnvPool
from patchjury.selection.errors import SelectionConfigError
from patchjury.selection.evidence import (
    BehaviourEvidence,
    Evidence,
    ExecutionEvidence,
    RegressionEvidence,
    StaticEvidence,
)
from patchjury.selection.execution import run_pass_matrix
from patchjury.selection.gather import contenders
from patchjury.selection.issue_tests import issue_tests, prune_issue_tests
from patchjury.selection.pass_matrix import PassMatrix, collect_tests
from patchjury.selection.protocol import Verifier
from patchjury.selection.regression import RegressionReport, run_regression
from patchjury.selection.scratch import without
from patchjury.selection.selectors import Signals, build_decision, make_rule
from patchjury.selection.static_check import StaticChecker
from patchjury.selection.verifier.trajectory import unreadable_notes


@dataclass
class InstanceRun:
    """Everything gathered for one instance."""

    decision: Decision
    signals: list[Signals]
    matrix: PassMatrix | None = None
    regression: RegressionReport | None = None
    notes: list[str] | None = None
    behaviour: Behaviour | None = None
    evidence: list[Evidence] = field(default_factory=list)
    """Every evidence kind gathered, in order (selection.evidence)."""


def _score_verifier(
    task: Task,
    cands: Sequence[Candidate],
    signals: dict[str, Signals],
    config: SelectionConfig,
    verifier: Verifier | None,
    static: StaticChecker | None = None,
) -> None:
    """Verifier scores for the live candidates, when the selector reads them (once: they do not change)."""
    alive = [c for c in cands if signals[c.candidate_id].alive]
    if not (config.use_verifier and make_rule(config).needs_verifier and alive):
        return
    if all(signals[c.candidate_id].verifier_score is not None for c in alive):
        return
    verifier = verifier or load_verifier(config, static)
    for cand in alive:
        signals[cand.candidate_id].verifier_score = float(verifier.score(task, cand, alive))


def run_instance(
    task: Task,
    candidates: Sequence[Candidate],
    config: SelectionConfig,
    env_factory: EnvFactory | None = None,
    verifier: Verifier | None = None,
    *,
    static: StaticChecker | None = None,
    progress: bool = True,
) -> InstanceRun:
    """Gather every configured signal for one instance's candidates and apply the configured rule. `static`
    (the repository source) adds static-check findings to the notes and, unless a `verifier` is given, to the
    default verifier's features."""
    cands = list(candidates)
    clusters, dropped = cluster_candidates(cands)
    by_id = {c.candidate_id: c for c in cands}
    signals = {c.candidate_id: Signals(c.candidate_id, dropped=dropped.get(c.candidate_id)) for c in cands}
    reps: dict[str, list[str]] = {}
    for cl in clusters:
        reps[cl.members[0]] = list(cl.members)
        for cid in cl.members:
            signals[cid].cluster, signals[cid].cluster_size = cl.id, cl.size
    notes: list[str] = unreadable_notes(cands)
    gathered: list[Evidence] = []

    def add(evidence: Evidence) -> None:
        evidence.apply(signals, reps)
        notes.extend(evidence.notes())
        gathered.append(evidence)

    if static is not None and config.verifier.static_checks:
        # before execution: the staged rule's regression contenders leave out what this sets aside
        add(StaticEvidence({rep: static.report(task, by_id[rep]) for rep in reps}))
    matrix: PassMatrix | None = None
    report: RegressionReport | None = None
    behaviour: Behaviour | None = None
    if config.execution.enabled and env_factory is not None and reps:
        subjects = {rep: by_id[rep].model_patch for rep in reps}
        with EnvPool(env_factory, config.execution.workers) as pool:
            own = collect_tests(cands, config.execution.max_tests)
            derived = issue_tests(task, config.execution.issue_tests)
            tests = own + derived
            matrix = run_pass_matrix(
                tests, subjects, pool, config.execution, progress=progress, label=task.instance_id
            )
            pruned = prune_issue_tests(matrix)
            add(ExecutionEvidence(matrix, config, len(own), len(derived), pruned))
            applying = matrix.applying()
            behaviour = read_behaviour(
                [(t.test_id, t.authors) for t in matrix.tests], matrix.cells, {s: reps[s] for s in applying}
            )
            add(BehaviourEvidence(behaviour))
            # regression runs the patches as the pass matrix applied them: without their scratch files
            patches = {s: without(subjects[s], matrix.stripped.get(s, ())) for s in applying}
            if config.regression.enabled and patches and config.regression.scope == "contenders":
                # r2e_hybrid's contenders are its verifier top k: score before choosing them
                _score_verifier(task, cands, signals, config, verifier, static)
                patches = contenders(patches, reps, signals, config, notes)
            if config.regression.enabled and patches:
                report = run_regression(pool, patches, config.regression, config.execution.workers)
                add(RegressionEvidence(report))
    elif config.execution.enabled and env_factory is None:
        notes.append("no environment given: execution-free signals only")
    _score_verifier(task, cands, signals, config, verifier, static)
    rule = make_rule(config)
    ordered = [signals[c.candidate_id] for c in cands]
    outcome = rule.decide(ordered)
    outcome.reasons.extend(notes)
    patches = {c.candidate_id: c.model_patch for c in cands}
    decision = build_decision(task.instance_id, rule.name, ordered, outcome, patches)
    return InstanceRun(decision, ordered, matrix, report, notes, behaviour, gathered)


def select_instance(
    task: Task,
    candidates: Sequence[Candidate],
    config: SelectionConfig,
    env_factory: EnvFactory | None = None,
    verifier: Verifier | None = None,
    *,
    progress: bool = True,
) -> Decision:
    """The jury's Decision for one instance (see `run_instance`)."""
    return run_instance(task, candidates, config, env_factory, verifier, progress=progress).decision


class JurySelector:
    """The `Selector` protocol over `select_instance`: `JurySelector(config, env_factory).select(task, cands)`."""

    def __init__(
        self,
        config: SelectionConfig | None = None,
        env_factory: EnvFactory | None = None,
        verifier: Verifier | None = None,
        progress: bool = False,
    ) -> None:
        self.config = config or SelectionConfig()
        self.name = self.config.selector
        self.env_factory = env_factory
        self.verifier = verifier
        self.progress = progress

    def select(self, task: Task, candidates: Sequence[Candidate]) -> Decision:
        return select_instance(
            task, candidates, self.config, self.env_factory, self.verifier, progress=self.progress
        )


def load_verifier(config: SelectionConfig, static: StaticChecker | None = None) -> Verifier:
    """The verifier described by `config.verifier` (the shipped trained model by default); `static` gives it
    static-check features when the repository source is known."""
    from patchjury.selection.verifier.config import build_verifier

    try:
        return build_verifier(config.verifier, static)
    except FileNotFoundError as exc:
        raise SelectionConfigError(
            f"cannot load the verifier: {exc}; train one with `patchjury verifier train`, point "
            "verifier.model_path at an artifact, or set use_verifier=false"
        ) from exc


def prediction_row(decision: Decision, model_name: str) -> dict[str, Any]:
    """A swebench prediction plus the jury's scores (extra keys are ignored by the harness)."""
    return {
        "instance_id": decision.instance_id,
        "model_patch": decision.model_patch,
        "model_name_or_path": model_name,
        "winner": decision.winner,
        "selector": decision.method,
        "scores": {e.candidate_id: e.model_dump(exclude={"candidate_id"}) for e in decision.evidence},
        "reasons": decision.reasons,
    }


def select_many(
    tasks: Mapping[str, Task],
    pools: Mapping[str, Sequence[Candidate]],
    config: SelectionConfig,
    out: Path,
    *,
    env_factory_for: Callable[[Task], EnvFactory | None] | None = None,
    config_for: Callable[[Task], SelectionConfig] | None = None,
    verifier: Verifier | None = None,
    static: StaticChecker | None = None,
    on_done: Callable[[InstanceRun], None] | None = None,
    progress: bool = True,
    resume: bool = False,
) -> list[Decision]:
    """Decide every instance of `pools` and write one prediction line each to `out` (as they finish).

    With `resume`, instances already present in `out` are kept and skipped (a crashed run continues);
    otherwise `out` is overwritten. `config_for(task)`, called after `env_factory_for(task)`, may give a task its
    own configuration (e.g. the regression command of its SWE-bench recipe). `static` feeds the default verifier's
    static checks (repository source per task). Returns the decisions made in this call.
    """
    missing = [iid for iid in pools if iid not in tasks]
    if missing:
        raise SelectionConfigError(
            f"{len(missing)} instance(s) have candidates but no instance row: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
            + "; add them to the instances file or remove their candidates"
        )
    if verifier is None and config.use_verifier and make_rule(config).needs_verifier:
        verifier = load_verifier(config, static)
    out.parent.mkdir(parents=True, exist_ok=True)
    decisions: list[Decision] = []
    from rich.progress import Progress

    done = _done_ids(out) if resume else set()
    todo = {iid: cands for iid, cands in pools.items() if iid not in done}
    with out.open("a" if resume else "w") as fh, Progress(disable=not progress, transient=True) as bar:
        task_bar = bar.add_task("selecting", total=len(todo))
        for iid, cands in todo.items():
            task = tasks[iid]
            factory = env_factory_for(task) if env_factory_for else None
            task_config = config_for(task) if config_for else config  # after the factory: it may set it up
            run = run_instance(task, cands, task_config, factory, verifier, static=static, progress=progress)
            fh.write(json.dumps(prediction_row(run.decision, config.model_name)) + "\n")
            fh.flush()
            decisions.append(run.decision)
            if on_done:
                on_done(run)
            bar.advance(task_bar)
    return decisions


def _done_ids(out: Path) -> set[str]:
    """Instance ids already written to a predictions file (a torn last line is dropped from the file)."""
    if not out.is_file():
        return set()
    good, ids = [], set()
    for line in out.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("instance_id"):
            ids.add(row["instance_id"])
            good.append(line)
    out.write_text("".join(g + "\n" for g in good))
    return ids


def iter_winners(decisions: Iterable[Decision]) -> dict[str, str | None]:
    return {d.instance_id: d.winner for d in decisions}
