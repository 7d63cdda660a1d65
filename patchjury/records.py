"""Shared records passed between stages: tasks, candidates, decisions.

This module imports nothing else of ours, so every package (envs, tools, agent, selection,
patchjury) may import it. Files on disk (JSON/JSONL of these records) are the contract between
stages: any stage can be rerun or fed from outside.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TrajectoryStatus = Literal[
    "pending",
    "running",
    "submitted",
    "step_limit",
    "cost_limit",
    "token_limit",
    "time_limit",
    "format_error",
    "context_exhausted",
    "model_error",
    "env_error",
    "error",
    "interrupted",
]


class TestFile(BaseModel):
    """A reproduction test written by a trajectory (or supplied with a candidate)."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(extra="forbid")

    path: str
    """Path relative to the repository root, e.g. `repro_test_issue.py`."""
    content: str
    """Full file content."""
    command: str | None = None
    """Command that runs it from the repo root; default `python <path>`."""

    def run_command(self) -> str:
        """The shell command that runs this test (exit 0 = resolved, 2 = still reproduced)."""
        return self.command or f"python {self.path}"


class Task(BaseModel):
    """What an agent is asked to do. Never carries gold fields of a benchmark instance."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    """Stable id (SWE-bench instance id, or a slug for local issues)."""
    problem_statement: str
    """The issue text shown to the agent."""
    repo: str = ""
    """`owner/name` when known (informational)."""
    base_commit: str = ""
    """Commit the agent starts from."""
    hints_text: str = ""
    """Optional hints (SWE-bench `hints_text`); shown only when the config allows."""


class Candidate(BaseModel):
    """One candidate patch for one instance, with the tests it was written with."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    """Instance this candidate answers."""
    model_patch: str
    """Unified diff against the base commit (reproduction tests excluded)."""
    candidate_id: str = ""
    """Unique within an instance; filled by the loader when absent."""
    tests: list[TestFile] = Field(default_factory=list)
    """Reproduction tests written with the patch (exit 0 resolved / 2 reproduced)."""
    trajectory: str | dict[str, Any] | None = None
    """Path to a trajectory JSON, or the trajectory inline."""
    status: str = "submitted"
    """How the producing trajectory ended."""
    reproduced: bool | None = None
    """Whether the candidate's own test failed (exit 2) on the original code."""
    cost: float = 0.0
    """Dollars spent producing it."""
    model_name_or_path: str = ""
    """Producer name. Bookkeeping only: never a verifier feature."""


class CandidateEvidence(BaseModel):
    """Everything the jury knew about one candidate when deciding."""

    model_config = ConfigDict(extra="forbid")

    candidate_id: str
    cluster: int = -1
    """Index of its cluster of equivalent (normalized) patches; -1 if dropped."""
    cluster_size: int = 0
    dropped: str | None = None
    """Reason the candidate was dropped before voting (empty, does not apply...)."""
    votes: float | None = None
    """Execution votes (tests of other candidates it passes)."""
    repro_pass: int | None = None
    """Reproduction tests (that reproduce on the original code) it passes."""
    regression_failures: int | None = None
    """Repository tests passing on the original code that fail with it."""
    verifier_score: float | None = None
    """Execution-free verifier score in [0, 1]."""
    scores: dict[str, float] = Field(default_factory=dict)
    """Any other named score (codet, b4, hybrid...)."""


class Decision(BaseModel):
    """The jury's choice for one instance, with its explanation."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    method: str
    """Selector name (e.g. `r2e_hybrid`, `staged`, `verifier`)."""
    winner: str | None
    """candidate_id of the chosen patch; None when no candidate survived."""
    model_patch: str = ""
    evidence: list[CandidateEvidence] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    """Human-readable steps of why the winner won."""
