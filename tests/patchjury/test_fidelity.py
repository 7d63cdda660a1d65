"""Fidelity: reading other agents' recorded trajectories, replaying them with `replay-bash` in a real
container (return codes side by side, final diff vs the submission), and comparing grading reports."""

from __future__ import annotations

import gzip
import json
import os
from io import StringIO
from pathlib import Path

import pytest
from gitrepo import init_repo

from patchjury.agent.errors import AgentConfigError
from patchjury.agent.models.recorded_bash import RecordedTrajectoryError, load_recorded
from patchjury.agent.models.registry import make_model, model_configs_from_names
from patchjury.core.fidelity import compare_grading, gold_check, normalize_diff, replay_instance

RUNS = "trajectories/verified_mini_gemini3pro_train.jsonl.gz"
CALC = "def add(a, b):\n    return a - b\n"
FIX = (
    "diff --git a/calc.py b/calc.py\nindex 0123456..89abcde 100644\n--- a/calc.py\n+++ b/calc.py\n"
    "@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return b + a + 0\n"
)
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"
CHECK = 'python3 reproduce.py && test "$(python3 reproduce.py)" = 5'
#: (command, recorded return code or None, recorded observation) as mini-swe-agent's container answered.
RECORDED = [
    ("ls", 0, "calc.py"),
    ("cat calc.py", 0, CALC),
    ("grep -n multiply calc.py", 1, ""),
    ("cat <<'EOF' > reproduce.py\nfrom calc import add\nprint(add(2, 3))\nEOF", 0, ""),
    (CHECK, 1, "-1"),
    # the fix changes calc.py's size: replayed without a model's latency, the edit can land in the same second as
    # the run before it, and a same-size edit would then be hidden by the __pycache__ entry that run wrote (CPython
    # checks mtime in whole seconds and size)
    ("sed -i 's/a - b/b + a + 0/' calc.py", 0, ""),
    (CHECK, 0, "5"),
    ("cd /tmp && pwd", 0, "/tmp"),
    ("pwd", 0, "/testbed"),
    ("sleep 30", None, "The last command <command>sleep 30</command> timed out and has been killed."),
    ("rm reproduce.py", 0, ""),
    (SUBMIT, None, FIX),
]


def _mini_traj(steps: list[tuple[str, int | None, str]], submission: str) -> dict[str, object]:
    """A mini-swe-agent 1.x .traj.json: one ```bash block per assistant message, the answer after it."""
    msgs: list[dict[str, object]] = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "<pr_description>add() subtracts</pr_description>"},
        {
            "role": "assistant",
            "content": "Two blocks at once is a format error:\n```bash\nls\n```\n```bash\npwd\n```",
        },
        {"role": "user", "content": "Please always provide EXACTLY ONE action in triple backticks."},
    ]
    for cmd, rc, obs in steps:
        msgs.append({"role": "assistant", "content": f"THOUGHT: next.\n\n```bash\n{cmd}\n```"})
        if rc is None and cmd != SUBMIT:
            msgs.append({"role": "user", "content": obs})
        elif rc is not None:
            msgs.append(
                {"role": "user", "content": f"<returncode>{rc}</returncode>\n<output>\n{obs}\n</output>"}
            )
    return {
        "trajectory_format": "mini-swe-agent-1",
        "info": {"exit_status": "Submitted", "submission": submission},
        "messages": msgs,
    }


def test_mini_swe_agent_trajectory_is_read(tmp_path: Path) -> None:
    path = tmp_path / "calc-1.traj.json"
    path.write_text(json.dumps(_mini_traj(RECORDED, FIX)))
    run = load_recorded(str(path))
    assert run.source == "mini-swe-agent" and run.submission == FIX
    assert [c.command for c in run.commands] == [c for c, _, _ in RECORDED]  # the format error ran nothing
    assert [c.returncode for c in run.commands] == [rc for _, rc, _ in RECORDED]
    assert [c.timed_out for c in run.commands] == [cmd == "sleep 30" for cmd, _, _ in RECORDED]
    assert run.commands[-1].is_submit and not run.commands[0].is_submit
    assert run.tests == [{"path": "reproduce.py", "content": "from calc import add\nprint(add(2, 3))\n"}]


def test_data_file_rows_are_read_by_instance_id(shared_data: Path) -> None:
    path = shared_data / RUNS
    with gzip.open(path, "rt") as fh:
        row = json.loads(fh.readline())
    run = load_recorded(f"{path}#{row['instance_id']}")
    assert run.source == "steps" and run.instance_id == row["instance_id"]
    assert [c.command for c in run.commands] == [s["command"] for s in row["steps"]]
    assert [c.returncode for c in run.commands] == [s["returncode"] for s in row["steps"]]
    assert run.submission == row["model_patch"] and run.commands[-1].is_submit
    assert run.tests == [{"path": t["path"], "content": t["content"]} for t in row["tests"]]
    model = make_model(model_configs_from_names([f"replay-bash:{path}#{row['instance_id']}"])[0])
    first = model.query([{"role": "system", "content": ""}, {"role": "user", "content": ""}])
    assert first.tool_calls[0].name == "run"
    assert json.loads(first.tool_calls[0].arguments) == {"command": row["steps"][0]["command"]}
    assert "recorded return code: 0" in first.content


def test_bad_recorded_inputs_name_the_problem(tmp_path: Path) -> None:
    unknown = tmp_path / "x.json"
    unknown.write_text(json.dumps({"history": []}))
    with pytest.raises(RecordedTrajectoryError, match="unknown trajectory format"):
        load_recorded(str(unknown))
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"instance_id": i, "steps": []}) + "\n" for i in ("a", "b")))
    with pytest.raises(RecordedTrajectoryError, match="FILE#INSTANCE_ID"):
        load_recorded(str(rows))
    with pytest.raises(RecordedTrajectoryError, match="no recorded trajectory for instance 'c'"):
        load_recorded(f"{rows}#c")
    assert load_recorded(f"{rows}#b").instance_id == "b"
    with pytest.raises(RecordedTrajectoryError, match="cannot read"):
        load_recorded(str(tmp_path / "missing.traj.json"))
    garbage = tmp_path / "g.json"
    garbage.write_text("{not json\n")
    with pytest.raises(RecordedTrajectoryError, match="neither JSON nor JSON Lines"):
        load_recorded(str(garbage))
    with pytest.raises(AgentConfigError):  # a model config error, raised before any trajectory starts
        make_model(model_configs_from_names([f"replay-bash:{unknown}"])[0])


def test_normalize_diff_ignores_index_lines_hunk_numbers_and_order() -> None:
    other = FIX.replace("index 0123456..89abcde 100644\n", "").replace(
        "@@ -1,2 +1,2 @@", "@@ -1,2 +1,2 @@ def"
    )
    assert normalize_diff(other) == normalize_diff(FIX)
    two = FIX + FIX.replace("calc.py", "b.py")
    swapped = FIX.replace("calc.py", "b.py") + FIX
    assert normalize_diff(two) == normalize_diff(swapped)
    assert normalize_diff(FIX.replace("b + a + 0", "a + b + 0")) != normalize_diff(FIX)
    assert normalize_diff("") == normalize_diff(None) == ""


def test_normalize_diff_equates_the_two_forms_of_a_binary_file() -> None:
    head = "diff --git a/out.png b/out.png\nnew file mode 100644\n"
    plain = FIX + head + "index 0000000000..63ecf6a312\nBinary files /dev/null and b/out.png differ\n"
    literal = (
        FIX
        + head
        + "index 0000000000000000000000000000000000000000..9753b706d865b457c70e24d314f7c7a16da28dbf\n"
        + "GIT binary patch\nliteral 5\nMcmZQzWMXCj0000100001\n\nliteral 0\nHcmV?d00001\n\n"
    )
    assert normalize_diff(plain) == normalize_diff(literal)
    assert "<binary>" in normalize_diff(plain)
    assert normalize_diff(plain) != normalize_diff(FIX)  # the binary file still counts
    assert normalize_diff(plain.replace("out.png", "other.png")) != normalize_diff(literal)


def test_compare_grading_counts_every_required_test() -> None:
    official = {
        "resolved": False,
        "tests_status": {
            "FAIL_TO_PASS": {"success": ["t1"], "failure": []},
            "PASS_TO_PASS": {"success": ["p1", "p2"], "failure": ["p3"]},
        },
    }
    ours = {
        "resolved": True,
        "tests_status": {
            "FAIL_TO_PASS": {"success": ["t1"], "failure": []},
            "PASS_TO_PASS": {"success": ["p1", "p3"], "failure": []},
        },
    }
    cmp = compare_grading(official, ours)
    assert (cmp["tests"], cmp["tests_agree"], cmp["resolved_agree"]) == (4, 2, False)
    assert {(d["test"], d["official"], d["ours"]) for d in cmp["disagreements"]} == {
        ("p2", "success", "missing"),
        ("p3", "failure", "success"),
    }


def test_gold_check_counts_the_disagreements_the_gold_patch_shares() -> None:
    official = {
        "resolved": True,
        "tests_status": {
            "FAIL_TO_PASS": {"success": ["t1"], "failure": []},
            "PASS_TO_PASS": {"success": ["img1", "img2", "p3", "p4"], "failure": []},
        },
    }
    ours = {  # img1/img2 fail here (a text baseline), p4 is missing from our log
        "resolved": False,
        "tests_status": {
            "FAIL_TO_PASS": {"success": ["t1"], "failure": []},
            "PASS_TO_PASS": {"success": ["p3"], "failure": ["img1", "img2"]},
        },
    }
    gold = {
        "resolved": False,
        "tests_status": {
            "FAIL_TO_PASS": {"success": ["t1"], "failure": []},
            "PASS_TO_PASS": {"success": ["p3", "p4"], "failure": ["img1", "img2", "img3"]},
        },
    }
    check = gold_check(compare_grading(official, ours), gold)
    assert check == {"gold_resolved": False, "disagreeing": 3, "explained": 2, "gold_only": 1}


TOX = "[testenv]\ncommands=\n    pytest --durations 25 {posargs}\n"
SETUP_PY = (
    "install_requires = [\n    'Jinja2>=2.3',\n    'alabaster',\n]\n" + "# filler\n" * 12 + "name = 'x'\n"
)


def _setup_edits(repo: Path) -> None:
    """The official sphinx image's own edits (tox.ini `pytest -rA`, a setup.py pin), as its build `sed`s them."""
    (repo / "tox.ini").write_text(TOX.replace("pytest --durations", "pytest -rA --durations"))
    (repo / "setup.py").write_text(SETUP_PY.replace("'Jinja2>=2.3'", "'Jinja2<3.0'"))


def test_setup_hunks_of_the_image_are_dropped_from_the_submission(tmp_path: Path) -> None:
    """A submission made in an image that left its setup edits uncommitted equals our replayed diff (made on top
    of our image's setup commit) once the hunks equal to that commit's are dropped, and only those."""
    from gitrepo import commit_all, git

    from patchjury.core.fidelity import drop_setup_hunks, setup_commit_diff
    from patchjury.envs.config import LocalEnvConfig
    from patchjury.envs.images import SETUP_COMMIT_MESSAGE
    from patchjury.envs.registry import make_env

    repo = init_repo(tmp_path / "repo", {"calc.py": CALC, "tox.ini": TOX, "setup.py": SETUP_PY})
    base = git(repo, "rev-parse", "HEAD")
    # the official image: setup edits left in the work tree, then the agent's fix; `git add -A && git diff --cached`
    _setup_edits(repo)
    (repo / "calc.py").write_text(CALC.replace("a - b", "a + b"))
    (repo / "setup.py").write_text((repo / "setup.py").read_text().replace("name = 'x'", "name = 'y'"))
    git(repo, "add", "-A")
    submission = git(repo, "diff", "--cached") + "\n"
    git(repo, "reset", "-q", "--hard", base)
    # our image: the same edits committed as its setup commit, then the same fix
    _setup_edits(repo)
    commit_all(repo, SETUP_COMMIT_MESSAGE)
    with make_env(LocalEnvConfig(repo=repo, tmp_dir=tmp_path)) as env:
        before = set(os.listdir("/tmp"))
        setup = setup_commit_diff(env)
        # the local backend's /tmp is the host's: nothing may be left there (it broke test_patching's check)
        assert [n for n in set(os.listdir("/tmp")) - before if "setup-commit" in n] == []
        env.write_file("calc.py", CALC.replace("a - b", "a + b"))
        env.write_file("setup.py", env.read_file("setup.py").replace("name = 'x'", "name = 'y'"))
        ours = env.diff()
    assert "pytest -rA" in setup and "Jinja2<3.0" in setup
    assert normalize_diff(ours) != normalize_diff(submission)  # raw: the setup hunks differ
    trimmed, dropped = drop_setup_hunks(submission, setup)
    assert dropped == 2  # tox.ini's hunk and setup.py's pin; setup.py's own edit stays
    assert normalize_diff(trimmed) == normalize_diff(ours)
    assert "tox.ini" not in trimmed and "name = 'y'" in trimmed
    # exact matches only: an agent's own edit of tox.ini is kept, and so is everything without a setup commit
    own = submission.replace("pytest -rA --durations", "pytest -rA -x --durations")
    assert drop_setup_hunks(own, setup)[1] == 1 and "tox.ini" in drop_setup_hunks(own, setup)[0]
    assert drop_setup_hunks(submission, "") == (submission, 0)
    with make_env(LocalEnvConfig(repo=repo, commit=base, tmp_dir=tmp_path)) as env:
        assert setup_commit_diff(env) == ""  # HEAD is not a setup commit


@pytest.mark.docker
@pytest.mark.slow
def test_replay_bash_in_a_real_container(tmp_path: Path, base_image: str) -> None:
    from rich.console import Console

    from patchjury.agent.render import render_record
    from patchjury.envs.config import DockerEnvConfig
    from patchjury.records import Candidate, Task
    from patchjury.trajectory_record import load_trajectory

    repo = init_repo(tmp_path / "repo", {"calc.py": CALC})
    traj = tmp_path / "calc-1.traj.json"
    traj.write_text(json.dumps(_mini_traj(RECORDED, FIX)))
    env = DockerEnvConfig(image=base_image, source_repo=repo, workdir="/testbed")
    task = Task(instance_id="calc-1", problem_statement="add() subtracts", repo="t/calc", base_commit="HEAD")

    res = replay_instance(task, str(traj), env, tmp_path / "out", run_timeout=3)

    assert res["status"] == "submitted", res.get("error")
    assert res["reached"] == len(RECORDED) and res["comparable"] == len(RECORDED) - 1  # submit: none recorded
    rows = {r["command"]: r for r in res["rows"]}
    assert rows["sleep 30"]["timed_out"] and rows["sleep 30"]["same"]  # a command that never returns
    assert [r["rc"] for r in res["rows"][:9]] == [rc for _, rc, _ in RECORDED[:9]]
    assert res["same_rc"] == res["comparable"]
    assert res["diff_identical"] and not res["diff_exact"]  # the recorded diff has another index line
    cand = Candidate.model_validate_json((tmp_path / "out" / "candidate.json").read_text())  # for the jury
    assert cand.model_patch == res["patch"] and [t.path for t in cand.tests] == ["reproduce.py"]
    assert cand.trajectory == res["trajectory"] and cand.model_name_or_path == "replay-bash"
    record = load_trajectory(res["trajectory"])  # an ordinary trajectory record: show renders it
    text = [m["content"] for m in record.messages if m["role"] == "assistant"]
    assert "recorded return code: 1" in text[2] and "recorded return code: timed out" in text[9]
    console = Console(file=StringIO(), width=120)
    render_record(record, console)
    assert "sed -i" in console.file.getvalue()  # type: ignore[attr-defined]

    other = tmp_path / "other.traj.json"  # the recorded agent ended with another diff than ours
    other.write_text(json.dumps(_mini_traj(RECORDED[:5] + RECORDED[-1:], FIX)))
    res2 = replay_instance(task, str(other), env, tmp_path / "out2", run_timeout=3)
    assert res2["status"] == "submitted" and "reproduce.py" in res2["patch"] and not res2["diff_identical"]

    idle = tmp_path / "idle.traj.json"  # nothing changed: our submit is refused, recorded, never a crash
    idle.write_text(json.dumps(_mini_traj(RECORDED[:3] + RECORDED[-1:], FIX)))
    res4 = replay_instance(task, str(idle), env, tmp_path / "out4", run_timeout=3)
    assert res4["status"] == "model_error" and "exhausted" in res4["error"] and res4["patch"] == ""

    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    res3 = replay_instance(task, str(bad), env, tmp_path / "out3")
    assert res3["status"] == "bad_input" and "holds 0 trajectories" in res3["error"]
