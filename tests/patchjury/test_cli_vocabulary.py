"""One CLI vocabulary: each word means one thing in every command; old spellings still work for one release
(with a warning) and are hidden from help; options are grouped in help panels."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from patchjury.cli import app
from patchjury.core.demo_repo import ISSUE, create_demo_repo

sys.path.insert(0, str(Path(__file__).parents[1] / "selection"))
import jury_repo

WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200", "NO_COLOR": "1"}


def _help(*command: str) -> str:
    res = CliRunner().invoke(app, [*command, "--help"], env=WIDE)
    assert res.exit_code == 0, res.output
    return res.output


def _flags(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", text))


COMMANDS = {
    "solve": ("solve",),
    "demo": ("demo",),
    "select": ("select",),
    "swebench run": ("swebench", "run"),
    "swebench eval": ("swebench", "eval"),
}
#: word -> the commands that take it (one meaning each; see patchjury/cli/options.py)
VOCABULARY = {
    "--workers": {"swebench run", "swebench eval"},
    "--traj-workers": {"solve", "demo", "swebench run"},
    "--test-workers": {"solve", "select", "swebench run"},
    "--instance-ids": {"select", "swebench run", "swebench eval"},
    "--slice": {"select", "swebench run", "swebench eval"},
    "--filter": {"select", "swebench run", "swebench eval"},
    "--redo-existing": {"select", "swebench run", "swebench eval"},
    "--use-official-image": {"select", "swebench run", "swebench eval"},
    "--repo-cache": {"select", "swebench run", "swebench eval"},
    "--no-clone": {"select", "swebench run", "swebench eval"},
    "--recipes": {"select", "swebench run", "swebench eval"},
    "--memory": {"solve", "select", "swebench run", "swebench eval"},
    "--cpus": {"solve", "select", "swebench run", "swebench eval"},
    "--instance-id": {"solve"},
}
OLD = {"--redo", "--resume", "--official-images"}


def test_each_word_is_offered_exactly_where_it_means_the_same_thing() -> None:
    shown = {name: _flags(_help(*cmd)) for name, cmd in COMMANDS.items()}
    for word, commands in VOCABULARY.items():
        have = {name for name, flags in shown.items() if word in flags}
        assert have == commands, f"{word}: offered by {sorted(have)}, expected {sorted(commands)}"
    for name, flags in shown.items():
        assert not flags & OLD, f"{name} shows an old spelling: {sorted(flags & OLD)}"


def test_help_groups_options_in_panels() -> None:
    text = _help("swebench", "run")
    for panel in (
        "Data selection",
        "Model and agent",
        "Parallelism",
        "Environment",
        "Output",
        "Configuration",
    ):
        assert panel in text, panel
    assert "Data selection" in _help("select") and "Jury" in _help("select")
    assert "Task" in _help("solve") and "Parallelism" in _help("solve")


def test_env_auto_is_described_as_each_command_does_it() -> None:
    """`--env auto` stops with the fix in solve when no Docker engine answers, but the demo falls back to local
    checkouts (envs.plan local_fallback): each command's help says what it does."""
    flat = {name: " ".join(_help(*cmd).split()) for name, cmd in (("solve", ("solve",)), ("demo", ("demo",)))}
    assert "stops with the fix when no engine answers" in flat["solve"]
    assert "falls back to local checkouts" in flat["demo"]
    assert "stops with the fix when no engine answers" not in flat["demo"]


def _select_files(tmp_path: Path) -> tuple[Path, Path]:
    _, sha, patches = jury_repo.make_repo(tmp_path)
    cands = tmp_path / "cands.jsonl"
    rows = [c.model_dump(exclude_defaults=True) for c in jury_repo.candidates(patches, "python3")]
    rows.append({"instance_id": "other-2", "model_patch": None})
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    inst = tmp_path / "instances.jsonl"
    inst.write_text(
        "".join(
            json.dumps(
                {
                    "instance_id": iid,
                    "problem_statement": jury_repo.ISSUE,
                    "base_commit": sha,
                    "repo": "x/slug",
                }
            )
            + "\n"
            for iid in ("slug-1", "other-2")
        )
    )
    return cands, inst


def _ids(out: Path) -> list[str]:
    return [json.loads(line)["instance_id"] for line in out.read_text().splitlines()]


def test_select_old_spellings_still_work_with_a_warning(tmp_path: Path) -> None:
    cands, inst = _select_files(tmp_path)
    out = tmp_path / "preds.jsonl"
    base = ["select", "--candidates", str(cands), "-i", str(inst), "-o", str(out), "--no-exec", "-q"]
    base += ["--selector", "majority", "-c", "use_verifier=false"]
    runner = CliRunner()

    res = runner.invoke(app, [*base, "--instance-id", "other-2", "--workers", "2", "--official-images"])
    assert res.exit_code == 0, res.output
    assert _ids(out) == ["other-2"]
    for old, new in (("--instance-id", "--instance-ids"), ("--workers", "--test-workers")):
        assert f"`patchjury select {old}` is an old spelling" in res.output and f"use {new}" in res.output
    assert "`patchjury select --official-images` is an old spelling" in res.output

    res = runner.invoke(app, [*base, "--resume"])  # resuming is the default now: the old flag only warns
    assert res.exit_code == 0, res.output
    assert _ids(out) == ["other-2", "slug-1"] and "`patchjury select --resume`" in res.output
    assert "kept 1 already in preds.jsonl" in res.output

    res = runner.invoke(app, [*base, "--resume", "--redo-existing"])
    assert res.exit_code != 0 and "contradict" in str(res.exception)
    res = runner.invoke(app, [*base, "--workers", "2", "--test-workers", "3"])
    assert res.exit_code != 0 and "--workers and --test-workers disagree" in str(res.exception)
    res = runner.invoke(app, [*base, "--instance-id", "other-2", "--instance-ids", "slug-1"])
    assert res.exit_code != 0 and "disagree" in str(res.exception)


def test_select_resumes_by_default_and_redoes_on_request(tmp_path: Path) -> None:
    cands, inst = _select_files(tmp_path)
    out = tmp_path / "preds.jsonl"
    base = ["select", "--candidates", str(cands), "-i", str(inst), "-o", str(out), "--no-exec", "-q"]
    base += ["--selector", "majority", "-c", "use_verifier=false"]
    runner = CliRunner()
    res = runner.invoke(app, [*base, "--instance-ids", "slug-1,other-2", "--slice", "1:"])
    assert res.exit_code == 0, res.output
    assert _ids(out) == ["other-2"]
    res = runner.invoke(app, [*base, "--filter", "^slug"])
    assert res.exit_code == 0 and _ids(out) == ["other-2", "slug-1"]
    assert "1 instance(s)" in res.output and "kept" not in res.output  # other-2 was filtered out, not kept
    res = runner.invoke(app, base)
    assert res.exit_code == 0 and "0 instance(s)" in res.output and "kept 2" in res.output
    res = runner.invoke(app, [*base, "--redo-existing", "--slice", "0"])
    assert res.exit_code == 0 and _ids(out) == ["slug-1"]  # decided again, the file rewritten
    res = runner.invoke(app, [*base, "--instance-ids", "slug-9"])
    assert res.exit_code != 0 and "slug-9 (did you mean slug-1?)" in str(res.exception)


def test_swebench_eval_redo_is_an_old_spelling_of_redo_existing(tmp_path: Path) -> None:
    inst = tmp_path / "i.jsonl"
    inst.write_text(json.dumps({"instance_id": "o__n-1", "repo": "o/n", "base_commit": "a"}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"instance_id": "o__n-1", "model_patch": ""}) + "\n")  # empty: no container
    args = ["swebench", "eval", "-p", str(preds), "-i", str(inst), "-o", str(tmp_path / "o"), "-q"]
    runner = CliRunner()
    res = runner.invoke(app, [*args, "--redo"])
    assert res.exit_code == 0, res.output
    assert (
        "`patchjury swebench eval --redo` is an old spelling" in res.output
        and "--redo-existing" in res.output
    )
    res = runner.invoke(app, [*args, "--redo-existing"])
    assert res.exit_code == 0 and "old spelling" not in res.output


def _solve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "solve", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **WIDE},
        cwd=cwd,
        timeout=600,
    )


@pytest.mark.slow
def test_solve_flags_land_in_their_config_fields_and_workers_is_an_old_spelling(tmp_path: Path) -> None:
    repo = create_demo_repo(tmp_path)
    quick = ["--repo", str(repo), "--issue", ISSUE, "-n", "1", "-c", "env.type=local"]
    quick += ["-c", "model.type=deterministic", "-c", "model.script=[]", "-c", "selection.use_verifier=false"]
    run = _solve(*quick, "--workers", "3", "--test-workers", "1", "--memory", "1g", "--cpus", "0.5",
                 "--run-id", "vocab", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert (
        "`patchjury solve --workers` is an old spelling" in run.stderr and "use --traj-workers" in run.stderr
    )
    saved = yaml.safe_load((repo / ".patchjury" / "runs" / "vocab" / "settings.yaml").read_text())
    assert saved["agent"]["workers"] == 3 and saved["selection"]["execution"]["workers"] == 1
    assert (saved["env"]["memory"], saved["env"]["cpus"]) == ("1g", 0.5)
    run = _solve(*quick, "--workers", "3", "--traj-workers", "2", cwd=tmp_path)
    assert run.returncode == 2 and "--workers and --traj-workers disagree" in run.stderr


def test_demo_maps_workers_to_traj_workers(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo", "--workers", "3", "--traj-workers", "2", "--dir", str(tmp_path)])
    assert res.exit_code != 0 and "--workers and --traj-workers disagree" in str(res.exception)
    assert not list(tmp_path.iterdir())  # refused before creating anything
