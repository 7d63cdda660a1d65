"""The typed trajectory record: records written before the types existed still load (and render, and become
candidates); the loader names what is wrong with a bad file; totals are the sums of the steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_fixtures import agent_config, fixing_script
from typer.testing import CliRunner

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.finalize import candidate_from_record
from patchjury.agent.runner import run_trajectories
from patchjury.cli import app
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Candidate, Task
from patchjury.selection.trajectories import load
from patchjury.selection.verifier.trajectory import trajectory_digest
from patchjury.trajectory_record import RecordFileError, Totals, load_trajectory, parse_trajectory

OLD = Path(__file__).parent / "data" / "record_v1_before_types.json"
"""Written by patchjury before the typed record (commit 5fc1b7f): a malformed call, then the fixing script."""


def test_records_written_by_the_untyped_writer_still_load() -> None:
    raw = json.loads(OLD.read_text())
    record = load_trajectory(OLD)
    assert (record.status, record.traj_id, record.model) == ("submitted", "t000", "det")
    assert record.totals.steps == 7 == len(record.steps) and record.totals.prompt_tokens == 10719
    assert record.steps[0].observations[0].format_error is True
    assert record.steps[1].observations[0].format_error is False  # absent in the old file: the default
    assert record.tests[0].path == "repro_test_0.py" and record.reproduced is True
    assert record.messages == raw["messages"]
    # Nothing is lost when a record is read and written again.
    again = json.loads(record.to_json())
    for key, value in raw.items():
        assert key in again and (key in ("steps", "totals", "tests") or again[key] == value), key
    # Its configuration (tools as a list of names, the old agent.output_limit) is still a valid AgentConfig.
    cfg = AgentConfig.model_validate(record.config)
    assert cfg.tools.names == raw["config"]["tools"] and cfg.tools.output_limit == 12000
    # Every reader takes it: candidates, the verifier's summary, `patchjury show`.
    cand = candidate_from_record("calc-1", OLD)
    assert (
        cand.status == "submitted" and "+    return a + b" in cand.model_patch and cand.tests == record.tests
    )
    digest = trajectory_digest(Candidate(instance_id="calc-1", model_patch="", trajectory=str(OLD)))
    assert digest.present and digest.steps == 7 and digest.submitted and digest.ran_after_edit
    assert load(OLD).messages == raw["messages"]
    shown = CliRunner().invoke(app, ["show", str(OLD)], env={"COLUMNS": "160"})
    assert shown.exit_code == 0 and "final patch" in shown.output and "observation: run_test" in shown.output
    as_json = json.loads(CliRunner().invoke(app, ["show", "--json", str(OLD)]).output)
    assert as_json["totals"]["steps"] == 7 and as_json["status"] == "submitted"


def test_the_loader_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(RecordFileError, match="cannot read trajectory"):
        load_trajectory(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(RecordFileError, match="not valid JSON"):
        load_trajectory(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"trajectory": []}')
    with pytest.raises(RecordFileError, match="not a patchjury trajectory record"):
        load_trajectory(tmp_path / "other.json")
    damaged = {**json.loads(OLD.read_text()), "steps": [{"step": "first"}]}
    with pytest.raises(RecordFileError, match=r"damaged trajectory record \(steps\.0\.step"):
        parse_trajectory(damaged, "t.json")
    bad = CliRunner().invoke(app, ["show", str(tmp_path / "other.json")])
    assert bad.exit_code != 0


def test_totals_are_the_sums_of_the_steps(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    model = ModelConfig(
        type="deterministic", name="det", script=[{"cost": 0.25, **s} for s in fixing_script()]
    )
    (cand,) = run_trajectories(
        task,
        lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
        tmp_path / "run",
        agent_config(n_trajectories=1),
        model,
        progress=False,
    )
    record = load_trajectory(str(cand.trajectory))
    assert record.totals == Totals.of(record.steps) and record.totals.cost == pytest.approx(1.5) == cand.cost
    assert record.totals.steps == 6 and record.totals.prompt_tokens == sum(
        s.prompt_tokens for s in record.steps
    )


def test_resume_cuts_the_record_at_the_cursor_and_keeps_what_was_ahead(tmp_path: Path) -> None:
    """The three cases of a kill: between query and its write, after the calls were written but before their
    checkpoint (they run again), and several steps ahead of the checkpoint."""
    from patchjury.agent.trajectory import Recorder
    from patchjury.trajectory_record import ObservationRecord, StepRecord

    path = tmp_path / "t000.json"
    rec = Recorder.new(path, instance_id="i", traj_id="t000")
    rec.start([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    for k in (1, 2):
        rec.add_query({"role": "assistant", "content": f"a{k}"}, StepRecord(step=k, cost=0.5))
        rec.add_observations([{"role": "user", "content": f"o{k}"}], [ObservationRecord(text=f"o{k}")], 0.1)
    assert rec.cursor() == {"messages": 6, "steps": 2} and rec.totals.cost == 1.0
    # The calls of step 2 ran and were written, but the checkpoint still had step 2 pending.
    pending = {
        "message": {"role": "assistant", "content": "a2"},
        "step": {"step": 2, "cost": 0.5},
        "calls": [],
    }
    again = Recorder.resume(path, {"messages": 5, "steps": 2}, pending)  # type: ignore[arg-type]
    assert again.cursor() == {"messages": 5, "steps": 2} and again.record.steps[1].observations == []
    resumed = again.record.resumes[-1]
    assert resumed.discarded_messages == [{"role": "user", "content": "o2"}]
    assert [s["observations"][0]["text"] for s in resumed.discarded_steps] == ["o2"]
    assert again.totals.steps == 2 and again.totals.cost == 1.0
    # Killed after step 1's checkpoint, with step 2 written: step 2 is kept aside whole.
    later = Recorder.resume(path, {"messages": 4, "steps": 1})
    assert later.cursor() == {"messages": 4, "steps": 1} and later.totals.cost == 0.5
    assert [s["step"] for s in later.record.resumes[-1].discarded_steps] == [2]
    # Killed between a query's checkpoint and its write: the pending message comes back from the state.
    later.save()
    third = Recorder.resume(path, {"messages": 5, "steps": 2}, pending)  # type: ignore[arg-type]
    assert third.messages[-1]["content"] == "a2" and third.record.resumes[-1].discarded_steps == []
