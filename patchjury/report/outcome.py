"""The record `patchjury solve` leaves in its run directory (`outcome.json`): the contract with the Action.

Light on purpose (pydantic only): the Action reads it without importing the agent or the jury.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OUTCOME_FILE = "outcome.json"

OutcomeStatus = Literal["patch", "unverified", "no_passing_candidate", "no_candidate", "interrupted"]


class RunOutcome(BaseModel):
    """What one `patchjury solve` run produced."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    """Directory name under `.patchjury/runs/`."""
    instance_id: str
    """Slug of the issue (or SWE-bench instance id)."""
    status: OutcomeStatus
    """`patch`: the jury chose a candidate that passes its own reproduction test; `no_passing_candidate`:
    candidates exist but none passes its own test (a patch may still be chosen, for information);
    `unverified`: a patch was chosen but tests were not executed; `no_candidate`: no trajectory produced a
    non-empty patch; `interrupted`: stopped by Ctrl-C before every trajectory finished (the jury, if any,
    judged only the finished ones; nothing was applied; `resume_command` resumes it)."""
    title: str
    """One-line summary of the fix (commit subject, PR title)."""
    commit_message: str
    """Full commit message: subject, blank line, what changed and why the jury chose it."""
    summary: str
    """Short markdown of what was tried (used in issue comments)."""
    patch_file: str | None = None
    """Chosen patch, relative to the run directory (None when nothing was chosen)."""
    report_md: str = "report.md"
    """Markdown report, relative to the run directory."""
    report_html: str | None = None
    """HTML report with the chart, relative to the run directory."""
    winner: str | None = None
    """candidate_id of the chosen patch."""
    n_trajectories: int = 0
    """Trajectories run."""
    n_candidates: int = 0
    """Trajectories that produced a non-empty patch."""
    cost: float = 0.0
    """Dollars spent on model calls."""
    tokens: int = 0
    """Prompt + completion tokens."""
    cached_tokens: int = 0
    """Prompt tokens read from the providers' caches (priced at their cache-read rate)."""
    duration: float = 0.0
    """Wall seconds of the whole run."""
    branch: str | None = None
    """Branch created by `--apply` (None otherwise)."""
    commit: str | None = None
    """Commit on that branch."""
    warnings: list[str] = Field(default_factory=list)
    """Things the user should know (local env without isolation, budget hit...)."""
    finished: list[str] = Field(default_factory=list)
    """candidate_ids of the trajectories that finished (all of them unless interrupted)."""
    resume_command: str | None = None
    """The command that resumes an interrupted run."""

    def save(self, run_dir: Path) -> Path:
        path = run_dir / OUTCOME_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def load(cls, run_dir: Path) -> RunOutcome:
        return cls.model_validate_json((run_dir / OUTCOME_FILE).read_text())

    def patch_text(self, run_dir: Path) -> str:
        return (run_dir / self.patch_file).read_text() if self.patch_file else ""

    def report_text(self, run_dir: Path) -> str:
        path = run_dir / self.report_md
        return path.read_text() if path.exists() else self.summary
