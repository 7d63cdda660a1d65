"""Execution-free features of a candidate: its patch, the issue text, agreement with the pool, its trajectory.

Honesty rule: only `task.problem_statement`, `task.hints_text` (not used by default), and the candidate's
`model_patch`, `tests`, `trajectory`, `status`, `reproduced` are read. Never the producer's name/run/model, cost,
extra fields (labels, provenance), nor any gold field of a benchmark instance (a Task cannot carry them).

Per-candidate analysis is done once (`analyze`); `PoolFeaturizer` then computes pool-relative features for any
subset of the pool with numpy, so Best@K benchmarks can score thousands of subsets quickly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from patchjury.records import Candidate, Task
from patchjury.selection.cluster import candidate_normal_form
from patchjury.selection.errors import PatchFormatError
from patchjury.selection.normalize import default_drop, kept_files
from patchjury.selection.patch_parse import parse_diff
from patchjury.selection.static_check import StaticChecker, StaticReport
from patchjury.selection.verifier.trajectory import TRAJECTORY_FEATURES, trajectory_digest

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_CODEY = re.compile(r"`([^`\n]+)`|```.*?```", re.S)
_BROAD_EXCEPT = re.compile(r"^\s*except\s*(Exception\s*)?(as\s+\w+\s*)?:")
_STOP = {
    "self",
    "None",
    "True",
    "False",
    "return",
    "import",
    "from",
    "def",
    "class",
    "the",
    "and",
    "for",
    "not",
}

INDIVIDUAL = [
    "valid",
    "log_added",
    "log_removed",
    "log_files",
    "log_hunks",
    "add_share",
    "only_removes",
    "raw_touches_tests",
    "raw_adds_scratch",
    "new_files",
    "non_python_files",
    "broad_except_added",
    "comment_lines_added",
    "file_mentioned_share",
    "any_file_mentioned",
    "issue_idents_in_patch",
    "patch_idents_in_issue",
    "log_issue_len",
    "issue_has_traceback",
    "issue_code_blocks",
    "has_trajectory",
    "log_steps",
    "status_submitted",
    "reproduced_known",
    "reproduced",
    "log_n_tests",
    "static_checked",
    "static_undefined_names",
    "static_syntax_error",
    "static_new_warnings",
    *TRAJECTORY_FEATURES,
]
"""Per-candidate features. The `static_*` ones come from selection.static_check (0 when no source was given), the
`traj_*` ones from the trajectory digest (selection.verifier.trajectory; 0 without a trajectory)."""
POOL = [
    "log_pool_valid",
    "cluster_share",
    "cluster_is_largest",
    "cluster_size_log",
    "sim_mean",
    "sim_max",
    "files_same_share",
    "files_overlap_mean",
    "size_rel_median",
    "loc_agree_mean",
    "ident_sim_mean",
    "rel_log_added",
    "rel_log_removed",
    "rel_log_files",
    "rel_log_hunks",
]
_REL = ["log_added", "log_removed", "log_files", "log_hunks"]
FEATURE_NAMES = INDIVIDUAL + POOL


@dataclass
class CandidateInfo:
    """Pool-independent facts about one candidate."""

    norm: str | None
    drop_reason: str | None
    files: frozenset[str] = frozenset()
    lines: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    idents: frozenset[str] = frozenset()
    size: float = 0.0
    vector: np.ndarray = field(default_factory=lambda: np.zeros(len(INDIVIDUAL)))


def issue_identifiers(text: str) -> set[str]:
    """Code-like identifiers of the issue: inside backticks/code blocks, or with `_`, inner capitals or dots."""
    idents = set()
    for m in _CODEY.finditer(text):
        idents.update(_IDENT.findall(m.group(0)))
    for tok in _IDENT.findall(text):
        if (
            "_" in tok.strip("_")
            or (tok[0].islower() and any(c.isupper() for c in tok[1:]))
            or (tok[0].isupper() and any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok))
        ):
            idents.add(tok)
    return {i for i in idents if i not in _STOP}


def _mentioned(path: str, text: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0]
    module = (
        ".".join(p for p in parts if p not in ("src", "lib"))[: -len(".py")] if name.endswith(".py") else ""
    )
    if path in text or name in text or (module and module in text):
        return True
    return (
        stem not in ("__init__", "base", "utils", "core")
        and len(stem) > 3
        and re.search(rf"\b{re.escape(stem)}\b", text) is not None
    )


def _issue_stats(task: Task) -> tuple[str, set[str], list[float]]:
    text = task.problem_statement
    return (
        text,
        issue_identifiers(text),
        [math.log1p(len(text)), float("Traceback" in text), math.log1p(text.count("```") // 2)],
    )


def _static_vec(report: StaticReport | None) -> list[float]:
    if report is None or not report.checked:
        return [0.0, 0.0, 0.0, 0.0]
    return [
        1.0,
        float(bool(report.undefined_names)),
        float(report.syntax_errors > 0),
        math.log1p(report.new_warnings),
    ]


def analyze(
    task: Task,
    cand: Candidate,
    issue: tuple[str, set[str], list[float]] | None = None,
    static: StaticReport | None = None,
) -> CandidateInfo:
    """Pool-independent features of one candidate (`static`: its static-check report, when a source is known)."""
    text, idents, issue_vec = issue or _issue_stats(task)
    norm, reason = candidate_normal_form(cand)
    raw_tests = raw_scratch = 0.0
    try:
        raw_files = parse_diff(cand.model_patch) if cand.model_patch.strip() else []
    except PatchFormatError:
        raw_files = []
    for f in raw_files:
        raw_tests = max(raw_tests, float(default_drop(f.path) and not f.is_new))
        raw_scratch = max(raw_scratch, float(f.is_new and (default_drop(f.path) or "/" not in f.path)))
    traj = trajectory_digest(cand)
    reproduced = cand.reproduced
    if (
        reproduced is None
        and isinstance(cand.trajectory, dict)
        and isinstance(cand.trajectory.get("reproduced"), bool)
    ):
        reproduced = cand.trajectory["reproduced"]
    traj_vec = [
        float(traj.present),
        math.log1p(traj.steps),
        float((traj.exit_status or cand.status) == "submitted"),
        float(reproduced is not None),
        float(bool(reproduced)),
        math.log1p(len(cand.tests)),
    ]
    traj_extra = traj.features()
    if norm is None:
        vec = np.zeros(len(INDIVIDUAL))
        vec[INDIVIDUAL.index("raw_touches_tests")] = raw_tests
        vec[INDIVIDUAL.index("raw_adds_scratch")] = raw_scratch
        start = INDIVIDUAL.index("log_issue_len")
        vec[start : start + len(issue_vec) + len(traj_vec)] = [*issue_vec, *traj_vec]
        vec[len(INDIVIDUAL) - len(traj_extra) :] = traj_extra
        return CandidateInfo(norm=None, drop_reason=reason, vector=vec)
    own = {t.path for t in cand.tests}
    files = kept_files(cand.model_patch, (lambda p: p in own) if own else None)
    lines = [ln for ln in norm.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++ ", "--- "))]
    added = [ln[1:] for ln in lines if ln.startswith("+")]
    removed = [ln[1:] for ln in lines if ln.startswith("-")]
    hunks = [h for f in files for h in f.hunks]
    paths = sorted({f.path for f in files})
    patch_idents = set(_IDENT.findall("\n".join(lines))) - _STOP
    raw_added = [a for h in hunks for a in h.added]
    mentioned = [_mentioned(p, text) for p in paths]
    vec_list = [
        1.0,
        math.log1p(len(added)),
        math.log1p(len(removed)),
        math.log1p(len(paths)),
        math.log1p(len(hunks)),
        len(added) / (len(added) + len(removed) + 1.0),
        float(not added),
        raw_tests,
        raw_scratch,
        float(sum(f.is_new for f in files)),
        float(sum(not f.path.endswith(".py") for f in files)),
        float(any(_BROAD_EXCEPT.match(a) for a in raw_added)),
        math.log1p(sum(a.strip().startswith("#") for a in raw_added)),
        sum(mentioned) / max(len(mentioned), 1),
        float(any(mentioned)),
        len(idents & patch_idents) / max(len(idents), 1),
        len(idents & patch_idents) / max(len(patch_idents), 1),
        *issue_vec,
        *traj_vec,
        *_static_vec(static),
        *traj_extra,
    ]
    return CandidateInfo(
        norm=norm,
        drop_reason=None,
        files=frozenset(paths),
        lines=frozenset(lines),
        removed=frozenset(_removed_with_file(norm)),
        idents=frozenset(set(_IDENT.findall("\n".join(added))) - _STOP),
        size=math.log1p(len(added) + len(removed)),
        vector=np.asarray(vec_list, dtype=float),
    )


def _removed_with_file(norm: str) -> list[str]:
    """Removed (or, for pure additions, the file) lines tagged with their file: where the change is made."""
    out, path = [], ""
    for ln in norm.splitlines():
        if ln.startswith("+++ "):
            path = ln[4:]
            out.append(f"{path}::")
        elif ln.startswith("-") and not ln.startswith("--- "):
            out.append(f"{path}::{ln[1:].strip()}")
    return out


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class PoolFeaturizer:
    """Features of every candidate of one instance's pool, for the whole pool or any subset of it."""

    def __init__(
        self,
        task: Task,
        candidates: Sequence[Candidate],
        static: Sequence[StaticReport | None] | None = None,
    ) -> None:
        issue = _issue_stats(task)
        reports = list(static) if static is not None else [None] * len(candidates)
        self.infos = [analyze(task, c, issue, r) for c, r in zip(candidates, reports, strict=True)]
        n = len(self.infos)
        self.valid = np.array([i.norm is not None for i in self.infos])
        self.same = np.zeros((n, n))
        self.sim = np.zeros((n, n))
        self.files_same = np.zeros((n, n))
        self.files_jac = np.zeros((n, n))
        self.loc = np.zeros((n, n))
        self.ident = np.zeros((n, n))
        for a in range(n):
            for b in range(a, n):
                ia, ib = self.infos[a], self.infos[b]
                if ia.norm is None or ib.norm is None:
                    continue
                vals = (
                    float(ia.norm == ib.norm),
                    _jaccard(ia.lines, ib.lines),
                    float(ia.files == ib.files),
                    _jaccard(ia.files, ib.files),
                    _jaccard(ia.removed, ib.removed),
                    _jaccard(ia.idents, ib.idents),
                )
                mats = (self.same, self.sim, self.files_same, self.files_jac, self.loc, self.ident)
                for mat, v in zip(mats, vals, strict=True):
                    mat[a, b] = mat[b, a] = v
        self.base = np.stack([i.vector for i in self.infos]) if n else np.zeros((0, len(INDIVIDUAL)))
        self.sizes = np.array([i.size for i in self.infos])

    def features(self, subset: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Feature matrix (len(subset) x len(FEATURE_NAMES)) with the pool restricted to `subset`."""
        idx = np.arange(len(self.infos)) if subset is None else np.asarray(subset, dtype=int)
        valid = self.valid[idx]
        nv = int(valid.sum())
        pool = np.zeros((len(idx), len(POOL)))
        if nv:
            vidx = idx[valid]
            same = self.same[np.ix_(idx, vidx)]
            csize = same.sum(axis=1)
            others = max(nv - 1, 1)
            eye = (idx[:, None] == vidx[None, :]).astype(float)
            sim = self.sim[np.ix_(idx, vidx)] - eye
            median = float(np.median(self.sizes[vidx]))
            pool[:, 0] = math.log1p(nv)
            pool[:, 1] = csize / nv
            pool[:, 2] = csize >= csize[valid].max()
            pool[:, 3] = np.log1p(csize)
            pool[:, 4] = sim.sum(axis=1) / others
            pool[:, 5] = np.where(eye.sum(axis=1) < nv, np.max(np.where(eye > 0, -1.0, sim), axis=1), 0.0)
            pool[:, 6] = (self.files_same[np.ix_(idx, vidx)] - eye).sum(axis=1) / others
            pool[:, 7] = (self.files_jac[np.ix_(idx, vidx)] - eye).sum(axis=1) / others
            pool[:, 8] = self.sizes[idx] - median
            pool[:, 9] = (self.loc[np.ix_(idx, vidx)] - eye).sum(axis=1) / others
            pool[:, 10] = (self.ident[np.ix_(idx, vidx)] - eye).sum(axis=1) / others
            rel = np.array([INDIVIDUAL.index(name) for name in _REL])
            pool[:, 11:15] = self.base[np.ix_(idx, rel)] - self.base[np.ix_(vidx, rel)].mean(axis=0)
            pool[~valid] = 0.0
            pool[:, 5] = np.maximum(pool[:, 5], 0.0)
        return np.hstack([self.base[idx], pool])

    def cluster_keys(self, subset: Sequence[int] | np.ndarray | None = None) -> list[str | None]:
        idx = range(len(self.infos)) if subset is None else subset
        return [self.infos[i].norm for i in idx]


def featurize(
    task: Task, candidate: Candidate, pool: Sequence[Candidate] = (), static: StaticChecker | None = None
) -> dict[str, float]:
    """Named features of `candidate` within `pool` (the candidate is added to the pool if absent)."""
    members = list(pool)
    pos = next((i for i, c in enumerate(members) if c is candidate), None)
    if pos is None:
        members.append(candidate)
        pos = len(members) - 1
    reports = static.reports(task, members) if static is not None else None
    row = PoolFeaturizer(task, members, reports).features()[pos]
    return dict(zip(FEATURE_NAMES, (float(v) for v in row), strict=True))
