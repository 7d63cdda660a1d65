"""The shipped verifier model: a JSON artifact (no pickle) evaluated with numpy.

Two kinds are supported, both exported from scikit-learn after training (selection/training/train.py):
- `logreg`: standardization (mean, scale) + logistic regression (coef, intercept);
- `gbdt`: gradient-boosted regression trees on log-odds (init, learning_rate, trees as flat arrays), as fitted by
  sklearn's GradientBoostingClassifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from patchjury.selection.errors import SelectionConfigError

FORMAT = "patchjury-verifier/1"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))


@dataclass
class Tree:
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        node = np.zeros(len(X), dtype=int)
        for _ in range(64):
            leaf = self.left[node] < 0
            if leaf.all():
                break
            f = np.where(leaf, 0, self.feature[node])
            go_left = X[np.arange(len(X)), f] <= self.threshold[node]
            nxt = np.where(go_left, self.left[node], self.right[node])
            node = np.where(leaf, node, nxt)
        return np.asarray(self.value[node])


@dataclass
class VerifierModel:
    """A trained, serializable scoring model over selection.verifier.features.FEATURE_NAMES."""

    kind: str
    feature_names: list[str]
    params: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    _trees: list[Tree] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "gbdt":
            self._trees = [
                Tree(*(np.asarray(t[k]) for k in ("feature", "threshold", "left", "right", "value")))
                for t in self.params["trees"]
            ]
        elif self.kind != "logreg":
            raise SelectionConfigError(
                f"unknown verifier model kind {self.kind!r}; expected 'logreg' or 'gbdt'"
            )

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of resolution for each row of X."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise SelectionConfigError(
                f"feature matrix has shape {X.shape}, model expects {len(self.feature_names)} columns: "
                "retrain the verifier with this version (`patchjury verifier train`)"
            )
        if self.kind == "logreg":
            p = self.params
            z = (X - np.asarray(p["mean"])) / np.asarray(p["scale"])
            return np.asarray(z @ np.asarray(p["coef"]) + float(p["intercept"]))
        out = np.full(len(X), float(self.params["init"]))
        for tree in self._trees:
            out += float(self.params["learning_rate"]) * tree.predict(X)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(resolved) for each row of X."""
        return _sigmoid(self.decision(X))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "feature_names": self.feature_names,
            "params": self.params,
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> VerifierModel:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise SelectionConfigError(f"cannot read verifier artifact {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise SelectionConfigError(f"verifier artifact {path} is not JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SelectionConfigError(f"{path} is not a patchjury verifier artifact (format {FORMAT})")
        return cls(
            kind=data["kind"],
            feature_names=data["feature_names"],
            params=data["params"],
            meta=data.get("meta", {}),
        )


def from_sklearn(
    estimator: Any, feature_names: list[str], meta: dict[str, Any] | None = None
) -> VerifierModel:
    """Export a fitted sklearn Pipeline(StandardScaler, LogisticRegression) or GradientBoostingClassifier."""
    meta = meta or {}
    if hasattr(estimator, "named_steps"):
        scaler = estimator.named_steps["standardscaler"]
        lr = estimator.named_steps["logisticregression"]
        params = {
            "mean": [float(v) for v in scaler.mean_],
            "scale": [float(v) for v in scaler.scale_],
            "coef": [float(v) for v in lr.coef_[0]],
            "intercept": float(lr.intercept_[0]),
        }
        return VerifierModel("logreg", feature_names, params, meta)
    init = estimator.init_
    prior = float(np.log(init.class_prior_[1] / init.class_prior_[0]))
    trees = []
    for est in estimator.estimators_[:, 0]:
        t = est.tree_
        trees.append(
            {
                "feature": [int(v) for v in t.feature],
                "threshold": [round(float(v), 8) for v in t.threshold],
                "left": [int(v) for v in t.children_left],
                "right": [int(v) for v in t.children_right],
                "value": [round(float(v), 8) for v in t.value[:, 0, 0]],
            }
        )
    params = {"init": prior, "learning_rate": float(estimator.learning_rate), "trees": trees}
    return VerifierModel("gbdt", feature_names, params, meta)
