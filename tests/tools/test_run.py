"""run: shell commands with timeout, exit codes and truncation."""

from __future__ import annotations

from patchjury.envs.local import LocalEnv
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Tool
from patchjury.tools.registry import get_tools


def test_run_reports_exit_code_and_output(env: LocalEnv, tools: dict[str, Tool]) -> None:
    ok = tools["run"].run(env, {"command": "ls pkg && echo done"})
    assert not ok.error and "calc.py" in ok.text and ok.text.endswith("[exit code 0]")
    failed = tools["run"].run(env, {"command": "echo oops >&2; exit 3"})
    assert not failed.error  # a failing command is a normal observation
    assert failed.data["exit_code"] == 3 and "oops" in failed.text and "[exit code 3]" in failed.text


def test_run_timeout_kills_and_says_so(env: LocalEnv, tools: dict[str, Tool]) -> None:
    obs = tools["run"].run(env, {"command": "echo started; sleep 30", "timeout": 1})
    assert obs.data["timed_out"] and "started" in obs.text and "timed out after 1 s" in obs.text


def test_run_timeout_is_capped_and_stdin_is_empty(env: LocalEnv) -> None:
    (run,) = get_tools(["run"], config=ToolsConfig(run_max_timeout=2))
    obs = run.run(env, {"command": "cat; echo after-cat", "timeout": 500})
    assert "after-cat" in obs.text and "lowered from 500 s to the maximum 2 s" in obs.text


def test_run_output_truncated_head_and_tail(env: LocalEnv) -> None:
    (run,) = get_tools(["run"], config=ToolsConfig(output_limit=1000))
    obs = run.run(env, {"command": "echo FIRST; seq 1 5000; echo LAST"})
    assert len(obs.text) <= 1000
    assert "FIRST" in obs.text and "LAST" in obs.text and "elided" in obs.text
    assert obs.text.endswith("[exit code 0]")
