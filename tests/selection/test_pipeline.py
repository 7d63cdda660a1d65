"""The whole jury on a real repository (LocalEnv): clustering, pass matrix, regression, verifier, rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.envs.protocol import Env
from patchjury.selection.config import SelectionConfig
from patchjury.selection.pipeline import run_instance, select_instance, select_many
from patchjury.selection.selectors import R2EHybrid, Staged

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo

PYTEST = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -rA -p no:cacheprovider {{files}}"
# The verifier alone is fooled: it likes the wrong patch best.
SCORES = {"wrong": 0.9, "partial": 0.8, "good": 0.6, "good_dup": 0.55, "stale": 0.99}


@pytest.fixture(scope="module")
def jury_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("jury")
    repo, sha, patches = jury_repo.make_repo(root)
    cands = jury_repo.candidates(patches, python=sys.executable)
    cfg = SelectionConfig(
        selector="staged", execution={"workers": 2}, regression={"command": PYTEST, "scope": "all"}
    )

    def factory() -> Env:
        return LocalEnv(LocalEnvConfig(repo=repo, commit=sha))

    verifier = jury_repo.TableVerifier(SCORES)
    run = run_instance(jury_repo.task(sha), cands, cfg, factory, verifier, progress=False)
    return run, verifier, repo, sha, patches


@pytest.mark.slow
def test_staged_picks_the_correct_patch_with_evidence(jury_run) -> None:  # type: ignore[no-untyped-def]
    run, verifier, *_ = jury_run
    d = run.decision
    assert d.method == "staged" and d.winner == "good"
    assert 'return "-".join(s.lower().split())' in d.model_patch
    ev = {e.candidate_id: e for e in d.evidence}
    assert ev["good"].cluster == ev["good_dup"].cluster and ev["good"].cluster_size == 2
    assert ev["good"].repro_pass == 2 and ev["partial"].repro_pass == 1 and ev["wrong"].repro_pass == 0
    assert ev["good_dup"].repro_pass == 2  # shares the representative's row
    assert ev["wrong"].regression_failures == 1 and ev["good"].regression_failures == 0
    assert ev["stale"].dropped is not None and "does not apply" in ev["stale"].dropped
    assert ev["stale"].verifier_score is None  # dropped before the verifier
    assert sorted(verifier.calls) == ["good", "good_dup", "partial", "wrong"]
    assert ev["good"].scores["codet"] == 4.0  # 2 candidates x 2 tests
    assert ev["good"].scores["b4"] == pytest.approx(
        0.8865, abs=1e-4
    )  # posterior of the group {good, good_dup}
    text = "\n".join(d.reasons)
    assert "good, good_dup pass 2/2 reproducing tests (others <= 1)" in text
    assert "zero regression failures: good, good_dup" in text
    assert "highest verifier score (0.6): good" in text  # same cluster: the verifier splits the members


def test_r2e_hybrid_on_the_same_evidence_also_picks_the_correct_patch(jury_run) -> None:  # type: ignore[no-untyped-def]
    run, *_ = jury_run
    out = R2EHybrid().decide(run.signals)
    # 4 alive -> k = 3: wrong (.9), partial (.8), good (.6); regression drops wrong; repro keeps good
    assert out.winner == "good"
    assert "k = max(3, 4 x 0.5) = 3 of 4: wrong (0.9), partial (0.8), good (0.6)" in out.reasons[0]
    assert Staged().decide(run.signals).winner == "good"


def test_matrix_and_regression_are_kept_for_explanations(jury_run) -> None:  # type: ignore[no-untyped-def]
    run, *_ = jury_run
    assert run.matrix is not None and run.matrix.kept == ["good/repro_collapse.py", "partial/repro_strip.py"]
    assert "good_dup" not in run.matrix.subjects
    assert run.regression is not None and run.regression.files == ["tests/test_textutil.py"]


@pytest.mark.slow
def test_regression_runs_only_for_contenders_and_decides_the_same(jury_run) -> None:  # type: ignore[no-untyped-def]
    full, _, repo, sha, patches = jury_run
    cands = jury_repo.candidates(patches, python=sys.executable)

    def factory() -> Env:
        return LocalEnv(LocalEnvConfig(repo=repo, commit=sha))

    def run(selector: str):  # type: ignore[no-untyped-def]
        cfg = SelectionConfig(
            selector=selector, regression={"command": PYTEST}
        )  # scope: contenders (default)
        return run_instance(
            jury_repo.task(sha), cands, cfg, factory, jury_repo.TableVerifier(SCORES), progress=False
        )

    staged = run("staged")
    assert staged.decision.winner == full.decision.winner == "good"
    ev = {e.candidate_id: e for e in staged.decision.evidence}
    assert (
        ev["good"].regression_failures == ev["good_dup"].regression_failures == 0
    )  # the one contending cluster
    assert ev["wrong"].regression_failures is None and ev["partial"].regression_failures is None
    assert staged.regression is not None and sorted(staged.regression.failures) == ["good"]
    assert any(
        "regression not run for partial, wrong: out of contention for `staged`" in n
        for n in staged.notes or []
    )
    votes = run("votes")  # a rule that never reads regressions: no regression run at all
    assert votes.regression is None and votes.decision.winner == "good"
    assert all(e.regression_failures is None for e in votes.decision.evidence)


def test_without_tests_execution_only_checks_that_patches_apply(jury_run) -> None:  # type: ignore[no-untyped-def]
    _, _, repo, sha, patches = jury_run
    cands = [c.model_copy(update={"tests": []}) for c in jury_repo.candidates(patches)]
    cfg = SelectionConfig(selector="staged", regression={"enabled": False})

    def factory() -> Env:
        return LocalEnv(LocalEnvConfig(repo=repo, commit=sha))

    run = run_instance(
        jury_repo.task(sha), cands, cfg, factory, jury_repo.TableVerifier(SCORES), progress=False
    )
    ev = {e.candidate_id: e for e in run.decision.evidence}
    assert ev["stale"].dropped is not None and "does not apply" in ev["stale"].dropped
    assert all(e.repro_pass is None and e.votes is None for e in ev.values())  # not measured, not zero
    assert run.decision.winner == "good"  # largest cluster among the applying ones
    assert (
        "no candidate came with reproduction tests: only patch application was checked"
        in run.decision.reasons
    )


def test_no_exec_uses_execution_free_signals_only(jury_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, _, sha, patches = jury_run
    cands = jury_repo.candidates(patches)
    cfg = SelectionConfig(selector="verifier", execution={"enabled": False})
    run = run_instance(jury_repo.task(sha), cands, cfg, None, jury_repo.TableVerifier(SCORES), progress=False)
    # without an environment nothing shows that `stale` does not apply: the verifier's favourite wins
    assert run.decision.winner == "stale" and run.matrix is None
    assert all(e.repro_pass is None and e.regression_failures is None for e in run.decision.evidence)
    cfg = SelectionConfig(selector="majority", use_verifier=False)
    d = select_instance(jury_repo.task(sha), cands, cfg, None, None, progress=False)
    assert d.winner == "good"  # the only cluster of two
    assert "no environment given: execution-free signals only" in d.reasons


def test_jury_selector_satisfies_the_selector_protocol(jury_run) -> None:  # type: ignore[no-untyped-def]
    from patchjury.selection.pipeline import JurySelector
    from patchjury.selection.protocol import Selector

    _, _, _, sha, patches = jury_run
    sel = JurySelector(SelectionConfig(selector="majority", use_verifier=False))
    assert isinstance(sel, Selector) and sel.name == "majority"
    assert sel.select(jury_repo.task(sha), jury_repo.candidates(patches)).winner == "good"


def test_select_many_writes_swebench_predictions(jury_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, _, sha, patches = jury_run
    cands = jury_repo.candidates(patches)
    out = tmp_path / "preds.jsonl"
    cfg = SelectionConfig(selector="majority", use_verifier=False, model_name="pj-test")
    decisions = select_many({"slug-1": jury_repo.task(sha)}, {"slug-1": cands}, cfg, out, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and len(decisions) == 1
    row = rows[0]
    assert row["instance_id"] == "slug-1" and row["model_name_or_path"] == "pj-test"
    assert row["model_patch"] == patches["good"] and row["winner"] == "good" and row["selector"] == "majority"
    assert row["scores"]["good"]["cluster_size"] == 2
    from patchjury.selection.errors import SelectionConfigError

    with pytest.raises(SelectionConfigError, match="no instance row: slug-1"):
        select_many({}, {"slug-1": cands}, cfg, out, progress=False)


def test_select_many_gives_each_task_its_own_config(jury_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, _, sha, patches = jury_run
    out = tmp_path / "preds.jsonl"
    cfg = SelectionConfig(selector="majority", use_verifier=False)
    seen: list[str] = []

    def for_task(task):  # type: ignore[no-untyped-def]
        seen.append(task.instance_id)
        return cfg.model_copy(update={"selector": "votes"}) if task.instance_id == "b-2" else cfg

    tasks = {iid: jury_repo.task(sha).model_copy(update={"instance_id": iid}) for iid in ("a-1", "b-2")}
    pools = {iid: jury_repo.candidates(patches) for iid in tasks}
    decisions = select_many(tasks, pools, cfg, out, config_for=for_task, progress=False)
    assert seen == ["a-1", "b-2"]
    assert [d.method for d in decisions] == ["majority", "votes"]
