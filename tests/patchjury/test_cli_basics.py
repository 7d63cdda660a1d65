from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from patchjury import __version__
from patchjury.cli import app


def test_help_lists_commands() -> None:
    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0
    assert "images" in res.output
    assert "version" in res.output


def test_version() -> None:
    res = CliRunner().invoke(app, ["version"])
    assert res.exit_code == 0 and res.output.strip() == __version__


def test_expected_error_is_one_line_without_traceback() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "images", "bootstrap", "--suite", "hamm"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.strip().startswith("error: unknown suite 'hamm'")
    assert "Traceback" not in run.stderr
