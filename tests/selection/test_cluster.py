"""Clustering of one instance's candidates and the drop reasons."""

from __future__ import annotations

from patchjury.records import Candidate, TestFile
from patchjury.selection.cluster import DROP_EMPTY, DROP_INVALID, DROP_NO_CODE, cluster_candidates


def _diff(path: str, old: str, new: str) -> str:
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,3 +1,3 @@\n def f(x):\n-{old}\n+{new}\n \n"


def _cand(patch: str, cid: str = "", tests: list[TestFile] | None = None) -> Candidate:
    return Candidate(instance_id="i", model_patch=patch, candidate_id=cid, tests=tests or [])


def test_clusters_ordered_by_size_and_ids_filled() -> None:
    a = _diff("m.py", "    return 1", "    return 2")
    a2 = _diff("m.py", "    return 1", "    return (2)  # same")
    b = _diff("m.py", "    return 1", "    return 3")
    cands = [
        _cand(b),
        _cand(a),
        _cand(a2),
        _cand("  \n"),
        _cand("not a diff"),
        _cand(_diff("tests/test_m.py", "x", "y")),
    ]
    clusters, dropped = cluster_candidates(cands)
    assert [c.members for c in clusters] == [["c1", "c2"], ["c0"]]
    assert [c.id for c in clusters] == [0, 1]
    assert clusters[0].key != clusters[1].key and len(clusters[0].key) == 12
    assert dropped["c3"] == DROP_EMPTY
    assert dropped["c4"].startswith(DROP_INVALID)
    assert dropped["c5"] == DROP_NO_CODE
    assert [c.candidate_id for c in cands] == [f"c{i}" for i in range(6)]


def test_candidate_own_tests_are_not_part_of_the_patch() -> None:
    fix = _diff("m.py", "    return 1", "    return 2")
    with_test = fix + "--- /dev/null\n+++ b/checks/issue_check.py\n@@ -0,0 +1 @@\n+assert True\n"
    tests = [TestFile(path="checks/issue_check.py", content="assert True\n")]
    clusters, dropped = cluster_candidates([_cand(fix, "x"), _cand(with_test, "y", tests)])
    assert not dropped
    assert [c.members for c in clusters] == [["x", "y"]]


def test_deterministic() -> None:
    patches = [_diff("m.py", "    return 1", f"    return {10 + i % 3}") for i in range(7)]
    r1 = cluster_candidates([_cand(p) for p in patches])
    r2 = cluster_candidates([_cand(p) for p in patches])
    assert [(c.key, c.members) for c in r1[0]] == [(c.key, c.members) for c in r2[0]]
    assert [c.members for c in r1[0]] == [["c0", "c3", "c6"], ["c1", "c4"], ["c2", "c5"]]
