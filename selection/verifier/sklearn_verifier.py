"""The trained execution-free verifier (implements selection.protocol.Verifier)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from patchjury.records import Candidate, Task
from patchjury.selection.errors import SelectionConfigError
from patchjury.selection.static_check import StaticChecker
from patchjury.selection.verifier.config import VerifierConfig
from patchjury.selection.verifier.features import FEATURE_NAMES, PoolFeaturizer
from patchjury.selection.verifier.model import VerifierModel

DEFAULT_ARTIFACT = "verifier-v2.json"
"""Trained without selection.training.proxies.PROXY_FEATURES (system proxies); see artifacts/MODEL_CARD.md."""


class SklearnVerifier:
    """Scores candidates with a trained feature model; pool-relative features come from `pool`, static-check
    features from `static` (when given; otherwise they read "not checked")."""

    name = "sklearn"

    def __init__(self, model: VerifierModel, static: StaticChecker | None = None) -> None:
        self.model = model
        self.static = static
        unknown = [n for n in model.feature_names if n not in FEATURE_NAMES]
        if unknown:
            raise SelectionConfigError(
                f"verifier artifact uses features this version does not compute ({', '.join(unknown)}); "
                "retrain it with `patchjury verifier train` or use a matching patchjury version"
            )
        # Artifacts name their columns, so one trained before a feature was added still loads.
        self._columns = [FEATURE_NAMES.index(n) for n in model.feature_names]
        self._reads_static = any(n.startswith("static_") for n in model.feature_names)
        self._cache: dict[tuple[str, tuple[int, ...]], dict[int, float]] = {}

    @classmethod
    def from_path(cls, path: str | Path, static: StaticChecker | None = None) -> SklearnVerifier:
        return cls(VerifierModel.load(path), static)

    def score_pool(self, task: Task, pool: Sequence[Candidate]) -> list[float]:
        """Scores of every candidate of `pool` (featurized once), in pool order."""
        if not pool:
            return []
        reports = self.static.reports(task, pool) if self.static is not None and self._reads_static else None
        X = PoolFeaturizer(task, pool, reports).features()[:, self._columns]
        return [float(v) for v in self.model.predict_proba(X)]

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
    ref = resources.files("patchjury.selection.verifier") / "artifacts" / DEFAULT_ARTIFACT
    with resources.as_file(ref) as path:
        return VerifierModel.load(path)


def load_default_verifier(static: StaticChecker | None = None) -> SklearnVerifier:
    """The verifier trained by scripts/train_verifier.py and shipped in selection/verifier/artifacts/."""
    return SklearnVerifier(_default_model(), static)


def default_artifact_path() -> Path:
    return Path(str(resources.files("patchjury.selection.verifier") / "artifacts" / DEFAULT_ARTIFACT))


def from_config(config: VerifierConfig, static: StaticChecker | None = None) -> SklearnVerifier:
    """Backend `sklearn` (verifier.config.BACKENDS): the artifact at `model_path`, else the shipped default; static
    checks only when `static_checks` is on."""
    static = static if config.static_checks else None
    if config.model_path:
        return SklearnVerifier.from_path(config.model_path, static)
    return load_default_verifier(static)


def constant_from_config(config: VerifierConfig, static: StaticChecker | None = None) -> ConstantVerifier:
    """Backend `none`: every candidate scores 0.5."""
    return ConstantVerifier()
