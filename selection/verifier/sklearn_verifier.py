"""The trained execution-free verifier (implements selection.protocol.Verifier)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from patchjury.records import Candidate, Task
from selection.verifier.features import PoolFeaturizer
from selection.verifier.model import VerifierModel

DEFAULT_ARTIFACT = "verifier-v2.json"
"""Trained without selection.verifier.proxies.PROXY_FEATURES (system proxies); see artifacts/MODEL_CARD.md."""


class SklearnVerifier:
    """Scores candidates with a trained feature model; pool-relative features come from `pool`."""

    name = "sklearn"

    def __init__(self, model: VerifierModel) -> None:
        self.model = model
        self._cache: dict[tuple[str, tuple[int, ...]], dict[int, float]] = {}

    @classmethod
    def from_path(cls, path: str | Path) -> SklearnVerifier:
        return cls(VerifierModel.load(path))

    def score_pool(self, task: Task, pool: Sequence[Candidate]) -> list[float]:
        """Scores of every candidate of `pool` (featurized once), in pool order."""
        if not pool:
            return []
        return [float(v) for v in self.model.predict_proba(PoolFeaturizer(task, pool).features())]

    def score(self, task: Task, candidate: Candidate, pool: Sequence[Candidate] = ()) -> float:
        """P(resolved) for `candidate` within `pool` (added if absent). Scores of one pool are cached."""
        members = list(pool)
        if not any(c is candidate for c in members):
            members.append(candidate)
        key = (task.instance_id, tuple(id(c) for c in members))
        if key not in self._cache:
            scores = self.score_pool(task, members)
            self._cache = {key: {id(c): s for c, s in zip(members, scores, strict=True)}}
        return self._cache[key][id(candidate)]


class ConstantVerifier:
    """No verifier: every candidate scores 0.5 (selectors then fall back to other signals)."""

    name = "none"

    def score(self, task: Task, candidate: Candidate, pool: Sequence[Candidate] = ()) -> float:
        return 0.5


@lru_cache(maxsize=1)
def _default_model() -> VerifierModel:
    ref = resources.files("selection.verifier") / "artifacts" / DEFAULT_ARTIFACT
    with resources.as_file(ref) as path:
        return VerifierModel.load(path)


def load_default_verifier() -> SklearnVerifier:
    """The verifier trained by scripts/train_verifier.py and shipped in selection/verifier/artifacts/."""
    return SklearnVerifier(_default_model())


def default_artifact_path() -> Path:
    return Path(str(resources.files("selection.verifier") / "artifacts" / DEFAULT_ARTIFACT))
