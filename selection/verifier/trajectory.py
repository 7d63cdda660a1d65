"""A candidate's trajectory (path or inline, any format selection.trajectories reads) summarized for the verifier
and the LLM judge: the same digest feeds the verifier's features and the judge's prompt.

The digest answers what a reviewer looks for in an agent's log: did it run a script after its last edit, did that
script's output change from its first run, did it run the repository's tests and did they pass, how did the run
end (submitted, or a step/cost limit), did it revert edits, do errors remain in the last observations. It never
names the agent or its format (that would identify the producing system; scripts/audit_verifier_features.py
checks every feature for it). An unreadable trajectory is an absent one, with the reason kept for explanations.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from patchjury.records import Candidate
from patchjury.selection.outputs import digest, exception_of, normalize
from patchjury.selection.trajectories import load
from patchjury.selection.trajectory_formats import Trajectory, TrajectoryError, parse
from patchjury.selection.trajectory_steps import Step

_LIMIT = re.compile(
    r"(?i)(exit_cost|cost_limit|step_limit|limitsexceeded|token_limit|time_limit|early_exit|format)"
)
_REVERT = re.compile(
    r"(?i)^(git\s+(checkout|restore|stash|reset)\b|undo_edit\b|str_replace_editor\s+undo_edit)"
)
_PASSED = re.compile(r"(?i)(\b\d+ passed\b|^OK\b|tests finished: \d+ passed)", re.M)
_FAILED = re.compile(r"(?i)(\b\d+ (failed|errors?)\b|^FAILED\b|^FAIL:|^ERROR:|DO \*NOT\* COMMIT)", re.M)
_ERROR_LINE = re.compile(r"(Traceback \(most recent call last\)|^\w*(Error|Exception): )", re.M)

TRAJECTORY_FEATURES = [
    "traj_hit_limit",
    "traj_ran_after_edit",
    "traj_output_changed",
    "traj_last_run_crashed",
    "traj_ran_tests",
    "traj_tests_passed",
    "traj_log_reverts",
    "traj_last_errors",
]
"""Verifier features from the digest (0 when there is no trajectory); presence, length and a submitted end are the
older `has_trajectory`, `log_steps`, `status_submitted` features."""


@dataclass
class TrajectoryDigest:
    """What the verifier and the judge read from a trajectory."""

    present: bool = False
    steps: int = 0
    exit_status: str | None = None
    submitted: bool = False
    hit_limit: bool = False
    ran_after_edit: bool = False
    output_changed: bool | None = None
    """The last-run script's output differs from its first run (None: run once or never)."""
    last_run_crashed: bool | None = None
    ran_tests: bool = False
    tests_passed: bool | None = None
    """The last repository test run passed (None: no test run, or its result cannot be read)."""
    reverts: int = 0
    last_errors: float = 0.0
    """Share of the last three observations showing an error or traceback."""
    error: str | None = None
    """Why the trajectory could not be read."""
    raw_steps: list[Step] = field(default_factory=list)

    def features(self) -> list[float]:
        """Values in TRAJECTORY_FEATURES order."""
        return [
            float(self.hit_limit),
            float(self.ran_after_edit),
            float(bool(self.output_changed)),
            float(bool(self.last_run_crashed)),
            float(self.ran_tests),
            float(bool(self.tests_passed)),
            math.log1p(self.reverts),
            self.last_errors,
        ]

    def lines(self) -> list[str]:
        """The digest as short lines (the LLM judge's prompt, explanations)."""
        if not self.present:
            return [f"no trajectory ({self.error})" if self.error else "no trajectory"]

        def yes(v: bool | None, unknown: str = "unknown") -> str:
            return unknown if v is None else ("yes" if v else "no")

        return [
            f"steps: {self.steps}; ended: {self.exit_status or 'unknown'}"
            + (" (a step or cost limit)" if self.hit_limit else ""),
            f"ran a script after its last edit: {yes(self.ran_after_edit)}",
            f"that script's output changed since its first run: {yes(self.output_changed, 'ran it once or never')}",
            f"its last run crashed: {yes(self.last_run_crashed, 'no run')}",
            f"ran the repository's tests: {yes(self.ran_tests)}"
            + (f"; last run passed: {yes(self.tests_passed)}" if self.ran_tests else ""),
            f"reverted edits: {self.reverts} time(s)",
            f"errors in the last observations: {round(100 * self.last_errors)}%",
        ]


def _load(candidate: Candidate) -> Trajectory:
    traj = candidate.trajectory
    if traj is None:
        return Trajectory("unknown")
    if isinstance(traj, str):
        return load(traj)
    return parse(traj)


def _passed(step: Step) -> bool | None:
    if step.returncode is not None:
        return step.returncode == 0
    text = step.observation
    if _FAILED.search(text):
        return False
    return True if _PASSED.search(text) else None


def trajectory_digest(candidate: Candidate) -> TrajectoryDigest:
    """The digest of the candidate's trajectory (`present=False` without one or when it cannot be read)."""
    try:
        traj = _load(candidate)
    except TrajectoryError as exc:
        return TrajectoryDigest(error=str(exc))
    steps = traj.steps
    status = traj.exit_status or (candidate.status if candidate.trajectory is not None else None)
    out = TrajectoryDigest(present=bool(steps), steps=len(steps), exit_status=status, raw_steps=steps)
    if not steps:
        return out
    out.hit_limit = bool(status and _LIMIT.search(status))
    out.submitted = bool(status and "submitted" in status.lower()) and not out.hit_limit
    edits = [i for i, s in enumerate(steps) if s.kind == "edit" and s.target not in _scripts(steps)]
    last_edit = edits[-1] if edits else -1
    runs = [i for i, s in enumerate(steps) if s.kind in ("run", "test")]
    out.ran_after_edit = any(i > last_edit for i in runs) and last_edit >= 0
    script_runs = [steps[i] for i in runs if steps[i].kind == "run" and steps[i].target]
    if script_runs:
        last = script_runs[-1]
        same = [s for s in script_runs if s.target == last.target]
        out.last_run_crashed = exception_of(last.observation) is not None
        if len(same) > 1:
            out.output_changed = digest(normalize(same[0].observation)) != digest(normalize(last.observation))
    tests = [s for s in steps if s.kind == "test"]
    out.ran_tests = bool(tests)
    if tests:
        out.tests_passed = _passed(tests[-1])
    out.reverts = sum(bool(_REVERT.match(s.action.strip())) for s in steps)
    tail = [s.observation for s in steps[-3:]]
    out.last_errors = sum(bool(_ERROR_LINE.search(o or "")) for o in tail) / len(tail)
    return out


def _scripts(steps: list[Step]) -> set[str]:
    """Files the trajectory ran as scripts (edits of them are not edits of the fix)."""
    return {s.target for s in steps if s.kind in ("run", "test") and s.target}


def steps_for_prompt(candidate: Candidate) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """For the judge: the trajectory's steps as {role, action, observation} dicts, and its chat messages when the
    format records them (both empty when there is no readable trajectory)."""
    try:
        traj = _load(candidate)
    except TrajectoryError:
        return [], None
    steps = [{"role": "assistant", "action": s.action, "observation": s.observation} for s in traj.steps]
    return steps, (traj.messages or None)


def unreadable_notes(candidates: list[Candidate]) -> list[str]:
    """One note per candidate whose trajectory file cannot be read (it is then scored without one)."""
    notes = []
    for cand in candidates:
        if isinstance(cand.trajectory, str):
            try:
                load(cand.trajectory)
            except TrajectoryError as exc:
                notes.append(f"{cand.candidate_id}: {exc}; scored without its trajectory")
    return notes
