"""The jury's contracts: verifiers score candidates, selectors decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from patchjury.records import Candidate, Decision, Task


@runtime_checkable
class Verifier(Protocol):
    """Execution-free: scores a candidate without running it."""

    name: str

    def score(self, task: Task, candidate: Candidate, pool: Sequence[Candidate] = ()) -> float:
        """Probability-like score in [0, 1] that `candidate` resolves `task`.

        `pool` holds the other candidates for the same task (agreement features). Never uses the
        producer's name/run/model nor any gold field.
        """
        ...


@runtime_checkable
class Selector(Protocol):
    """Picks one candidate per task from the evidence gathered."""

    name: str

    def select(self, task: Task, candidates: Sequence[Candidate]) -> Decision: ...
