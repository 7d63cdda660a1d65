"""Explanations: markdown table and reasons per decision, the pass-matrix section, and the PNG chart."""

from __future__ import annotations

from pathlib import Path

from patchjury.selection.explain import render_chart, render_markdown
from patchjury.selection.pass_matrix import ORIGINAL, Cell, PassMatrix, ReproTest
from patchjury.selection.regression import RegressionReport
from patchjury.selection.selectors import R2EHybrid, Signals, build_decision


def _decision():  # type: ignore[no-untyped-def]
    signals = [
        Signals(
            "c1",
            cluster=0,
            cluster_size=2,
            repro_pass=2,
            repro_total=3,
            exec_score=2.0,
            regression_failures=0,
            regression_total=5,
            verifier_score=0.61,
            scores={"codet": 4.0},
        ),
        Signals(
            "c2",
            cluster=0,
            cluster_size=2,
            repro_pass=2,
            repro_total=3,
            exec_score=2.0,
            regression_failures=0,
            regression_total=5,
            verifier_score=0.4,
        ),
        Signals(
            "c3",
            cluster=1,
            cluster_size=1,
            repro_pass=1,
            repro_total=3,
            exec_score=1.0,
            regression_failures=3,
            regression_total=5,
            verifier_score=0.9,
        ),
        Signals("c4", dropped="empty patch"),
    ]
    out = R2EHybrid().decide(signals)
    return build_decision("astropy__astropy-1", "r2e_hybrid", signals, out, {"c1": "P1"})


def _matrix() -> PassMatrix:
    tests = [
        ReproTest("c1/t.py", "t.py", "", "python t.py", ["c1", "c2"]),
        ReproTest("c3/u.py", "u.py", "", "python u.py", ["c3"]),
    ]
    cells = {
        (ORIGINAL, "c1/t.py"): Cell(ORIGINAL, "c1/t.py", "fail", 2),
        (ORIGINAL, "c3/u.py"): Cell(ORIGINAL, "c3/u.py", "error", 1),
        ("c1", "c1/t.py"): Cell("c1", "c1/t.py", "pass", 0),
        ("c1", "c3/u.py"): Cell("c1", "c3/u.py", "timeout", 124),
        ("c3", "c1/t.py"): Cell("c3", "c1/t.py", "fail", 2),
        ("c3", "c3/u.py"): Cell("c3", "c3/u.py", "pass", 0),
    }
    return PassMatrix(tests, [ORIGINAL, "c1", "c3"], cells, {}, ["c1/t.py"], ["c1/t.py"])


def test_markdown_has_a_row_per_candidate_and_the_reasons() -> None:
    d = _decision()
    assert d.winner == "c1"
    md = render_markdown(d)
    assert md.startswith("# astropy__astropy-1: jury decision (r2e_hybrid)")
    assert "Winner: **c1**" in md
    assert "- verifier stage: kept top k = max(3, 3 x 0.5) = 3 of 3" in md
    assert "| **c1** (winner) | 0 (x2) | 2 | 2/3 | 0 of 5 | 0.610 |" in md
    assert "| c3 | 1 (x1) | 1 | 1/3 | 3 of 5 | 0.900 |" in md
    assert "| c4 | - | n/a | n/a | n/a | n/a | empty patch |" in md
    assert "c1: codet=4" in md
    assert "## Pass matrix" not in md


def test_markdown_pass_matrix_and_regression_sections() -> None:
    report = RegressionReport(
        files=["tests/test_m.py"],
        baseline={"tests/test_m.py::a": "PASSED", "tests/test_m.py::b": "PASSED"},
        failures={"c1": [], "c3": ["tests/test_m.py::a"]},
        note="c9: patch does not apply",
    )
    md = render_markdown(_decision(), _matrix(), report)
    assert "| test | kept | dist. | original | c1 | c3 |" in md
    assert "| c1/t.py | yes | yes | FAIL(2) | pass | FAIL(2) |" in md
    assert "| c3/u.py | no | no | error | timeout | pass |" in md
    assert "Read by their output, not their exit code (do not exit 2 on the original code): c3/u.py" in md
    assert "Related test files: tests/test_m.py; 2 tests pass on the original code." in md
    assert "- c3: 1 new failure(s): tests/test_m.py::a" in md
    assert "Note: c9: patch does not apply" in md


def test_no_winner_is_explained() -> None:
    s = [Signals("a", dropped="empty patch")]
    d = build_decision("i", "staged", s, R2EHybrid().decide(s), {})
    md = render_markdown(d)
    assert "Winner: none (no candidate survived)" in md and "all 1 were dropped" in md


def test_chart_png(tmp_path: Path) -> None:
    """matplotlib is a core dependency: the chart is drawn, never skipped."""
    path = tmp_path / "c.png"
    assert render_chart(_decision(), path) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
