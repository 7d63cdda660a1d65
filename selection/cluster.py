"""Group candidates whose normalized patches are identical; drop the ones with nothing to vote on."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from patchjury.records import Candidate
from patchjury.selection.errors import CandidateFormatError, PatchFormatError
from patchjury.selection.normalize import normalize_patch

DROP_EMPTY = "empty patch"
DROP_NO_CODE = "only test/whitespace changes"
DROP_INVALID = "not a valid diff"


@dataclass
class Cluster:
    """Candidates with the same normalized patch."""

    id: int
    """0-based; clusters are ordered by size (largest first), then by first appearance."""
    key: str
    """Short sha256 of the normalized patch."""
    members: list[str] = field(default_factory=list)
    """candidate_ids, in input order."""
    normalized: str = ""
    """The normalized patch text shared by the members."""

    @property
    def size(self) -> int:
        return len(self.members)


def fill_candidate_ids(candidates: Sequence[Candidate]) -> None:
    """Give every candidate without an id the id `c{i}` (i = its index); raise on duplicate ids."""
    seen: set[str] = set()
    for i, cand in enumerate(candidates):
        if not cand.candidate_id:
            cand.candidate_id = f"c{i}"
        if cand.candidate_id in seen:
            raise CandidateFormatError(
                f"duplicate candidate_id {cand.candidate_id!r} for instance {cand.instance_id!r}: "
                "give each candidate of one instance a unique candidate_id (or leave it empty to get c<index>)"
            )
        seen.add(cand.candidate_id)


def candidate_normal_form(cand: Candidate) -> tuple[str | None, str | None]:
    """(normalized patch, None) or (None, drop reason) for one candidate."""
    if not cand.model_patch.strip():
        return None, DROP_EMPTY
    own_tests = {t.path.lstrip("./") for t in cand.tests}
    try:
        norm = normalize_patch(cand.model_patch, drop_paths=(lambda p: p in own_tests) if own_tests else None)
    except PatchFormatError as exc:
        return None, f"{DROP_INVALID}: {exc}"
    if not norm:
        return None, DROP_NO_CODE
    return norm, None


def cluster_candidates(candidates: Sequence[Candidate]) -> tuple[list[Cluster], dict[str, str]]:
    """Cluster one instance's candidates by normalized patch.

    Returns (clusters, dropped) where dropped maps candidate_id -> reason ("empty patch", "only test/whitespace
    changes", "not a valid diff: ..."). Missing candidate_ids are filled in place as `c{i}`. Deterministic.
    """
    fill_candidate_ids(candidates)
    dropped: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    first_seen: dict[str, int] = {}
    for i, cand in enumerate(candidates):
        norm, reason = candidate_normal_form(cand)
        if norm is None:
            dropped[cand.candidate_id] = reason or DROP_INVALID
            continue
        groups.setdefault(norm, []).append(cand.candidate_id)
        first_seen.setdefault(norm, i)
    order = sorted(groups, key=lambda n: (-len(groups[n]), first_seen[n]))
    clusters = [
        Cluster(id=i, key=hashlib.sha256(n.encode()).hexdigest()[:12], members=groups[n], normalized=n)
        for i, n in enumerate(order)
    ]
    return clusters, dropped
