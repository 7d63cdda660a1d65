"""Output-differential evidence: conventions, informative tests, behaviour classes and the vote, with exact values;
then the whole jury on a real repository whose candidates carry print-only scripts, as real agents write them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from patchjury.records import Candidate, TestFile
from patchjury.selection.behaviour import kind_of, read_behaviour, verdict
from patchjury.selection.config import SelectionConfig
from patchjury.selection.explain import render_markdown
from patchjury.selection.outputs import observe
from patchjury.selection.pass_matrix import Cell
from patchjury.selection.pipeline import run_instance

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo


def run(subject: str, test: str, output: str, code: int | None = 0, timed_out: bool = False) -> Cell:
    seen = observe(output, code, timed_out)
    status = "timeout" if timed_out else ("pass" if code == 0 else "fail" if code == 2 else "error")
    return Cell(
        subject,
        test,
        status,
        code,
        0.1,
        output,
        timed_out,
        seen.digest,
        seen.excerpt,
        seen.exception,
        seen.marker,
    )


TRACE = 'Traceback (most recent call last):\n  File "x.py", line 3, in <module>\nValueError: boom\n'


def test_conventions_and_verdicts() -> None:
    assert kind_of(run("o", "t", "", 2)) == "exit"
    assert kind_of(run("o", "t", "Issue reproduced", 0)) == "marker"
    assert kind_of(run("o", "t", TRACE, 1)) == "failure"
    assert kind_of(run("o", "t", "AssertionError", 1)) == "failure"
    assert kind_of(run("o", "t", "", None, timed_out=True)) == "failure"
    assert kind_of(run("o", "t", "[1, 2]", 0)) == "output"
    orig = run("o", "t", TRACE, 1)
    assert verdict("failure", orig, run("a", "t", "fine", 0)) == "pass"
    assert verdict("failure", orig, run("a", "t", TRACE.replace("line 3", "line 9"), 1)) == "fail"
    assert verdict("failure", orig, run("a", "t", TRACE.replace("ValueError", "KeyError"), 1)) == "error"
    out = run("o", "t", "[1, 2]", 0)
    assert verdict("output", out, run("a", "t", "[1, 2]\n", 0)) == "same"
    assert verdict("output", out, run("a", "t", "[1]", 0)) == "changed"
    assert verdict("output", out, run("a", "t", TRACE, 1)) == "crash"
    assert verdict("marker", run("o", "t", "Issue reproduced"), run("a", "t", "Issue resolved")) == "pass"
    assert verdict("exit", run("o", "t", "", 2), run("a", "t", "", 0)) == "pass"


def test_agreement_authors_crashes_and_classes() -> None:
    # t1 prints; a (2 identical patches), b and c change its output, a and b the same way; d crashes it.
    # t2 raises on the original; only its author c makes it pass; a and c both make t3 pass.
    runs = {}
    for s, out, code in [("original", "[x**3]", 0), ("a", "[x**2, x**3]", 0), ("b", "[x**2, x**3]", 0)]:
        runs[(s, "t1")] = run(s, "t1", out, code)
    runs[("c", "t1")] = run("c", "t1", "[x]", 0)
    runs[("d", "t1")] = run("d", "t1", TRACE, 1)
    runs[("e", "t1")] = run("e", "t1", "[x**3]", 0)
    for s in ("original", "a", "b", "d", "e"):
        runs[(s, "t2")] = run(s, "t2", TRACE, 1)
        runs[(s, "t3")] = run(s, "t3", TRACE, 1)
    runs[("c", "t2")] = run("c", "t2", "ok", 0)
    runs[("a", "t3")] = run("a", "t3", "ok", 0)
    runs[("c", "t3")] = run("c", "t3", "ok", 0)
    runs[("original", "t4")] = run("original", "t4", "same everywhere", 0)
    for s in "abcde":
        runs[(s, "t4")] = run(s, "t4", "same everywhere", 0)
    members = {"a": ["a1", "a2"], "b": ["b"], "c": ["c"], "d": ["d"], "e": ["e"]}
    tests = [("t1", ["b"]), ("t2", ["c"]), ("t3", ["c"]), ("t4", ["a1"])]
    got = read_behaviour(tests, runs, members)
    assert [t.informative for t in got.tests] == [True, True, True, False]
    assert [t.kind for t in got.tests] == ["output", "failure", "failure", "output"]
    # a: t1 agreement 2 (its twin and b); t3 agreement 2 (its twin and c) + 1 (not its own test) = 5
    # b: t1 agreement 2 (a's two candidates); c: t1 alone 0; t2 its own test, alone: 0; t3 agreement 2 + 0 = 2
    assert got.support == {"a": 5.0, "b": 2.0, "c": 2.0, "d": -1.0, "e": 0.0}
    assert got.crashes == {"a": 0, "b": 0, "c": 0, "d": 1, "e": 0}
    assert got.oracle_passes == {"a": 1, "b": 0, "c": 2, "d": 0, "e": 0}
    assert got.classes[0] == ["a"] and sorted(map(tuple, got.classes)) == [
        ("a",),
        ("b",),
        ("c",),
        ("d",),
        ("e",),
    ]


def test_print_only_scripts_decide_in_the_jury(tmp_path: Path) -> None:
    """Every script prints and exits 0 (none would be kept under the exit-code convention): the agreeing fix wins,
    and the explanation shows what each class printed."""
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    script = "from textutil import slugify\nprint(repr(slugify('  a  b ')))\n"

    def cand(cid: str, patch: str, n: int) -> Candidate:
        tests = [
            TestFile(
                path=f"reproduce_{n}.py",
                content=script + f"# {n}\n",
                command=f"{sys.executable} reproduce_{n}.py",
            )
        ]
        return Candidate(instance_id="slug-1", candidate_id=cid, model_patch=patch, tests=tests)

    better = patches["good"].replace('"-".join(s.lower().split())', '"-".join(s.split()).lower()')
    cands = [
        cand("good", patches["good"], 1),
        cand("good2", better, 2),
        cand("partial", patches["partial"], 3),
    ]
    cfg = SelectionConfig(selector="staged", use_verifier=False, regression={"enabled": False})

    def factory():  # type: ignore[no-untyped-def]
        from patchjury.envs.config import LocalEnvConfig
        from patchjury.envs.local import LocalEnv

        return LocalEnv(LocalEnvConfig(repo=repo, commit=sha))

    got = run_instance(jury_repo.task(sha), cands, cfg, factory, progress=False)
    assert got.matrix is not None and got.matrix.kept == []
    assert got.behaviour is not None and len(got.behaviour.informative) == 3
    support = {e.candidate_id: e.scores.get("behaviour") for e in got.decision.evidence}
    assert support == {"good": 3.0, "good2": 3.0, "partial": 0.0}
    klass = {s.candidate_id: s.behaviour_class for s in got.signals}
    assert klass["good"] == klass["good2"] == 0 and klass["partial"] == 1  # two patches, one behaviour
    assert got.decision.winner in ("good", "good2")
    assert any("highest behaviour vote" in r for r in got.decision.reasons)
    md = render_markdown(got.decision, got.matrix, got.regression, got.behaviour)
    assert "## Behaviour (what the tests print)" in md
    assert "- original code: `'--a--b-'`" in md and "good, good2: prints: `'a-b'`" in md
    assert json.dumps(got.matrix.to_json())  # every cell field is serializable evidence
