"""The `patchjury` command. Each sub-command lives in a module of this package; heavy imports stay inside
commands. Arguments only: the work is done by patchjury.core (wiring) and shown by patchjury.report."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from patchjury import __version__
from patchjury.cli import demo, images, select, show, solve, swebench, verifier

app = typer.Typer(
    name="patchjury",
    help=(
        "Resolve issues in real repositories: run many agent trajectories in sandboxes, then let a jury "
        "(execution voting + a trained verifier) pick the patch.\n\n"
        "Start with `patchjury demo` (offline, no API key), then `patchjury solve --repo . --issue-file ISSUE.md`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_print_version,
            is_eager=True,
            help="Print the patchjury version and exit.",
        ),
    ] = False,
) -> None:
    """Resolve issues in real repositories (see `patchjury -h`)."""


@app.command()
def version() -> None:
    """Print the patchjury version."""
    typer.echo(__version__)


def _flags_as_switches() -> None:
    """Help shows an on/off flag as a switch (`--apply`), not as `--apply <bool>`: typer 0.29 prints every
    option's type, flags included. Values and parsing are unchanged."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        return shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_as_switches()


app.command("show")(show.show_cmd)
app.add_typer(images.app, name="images")
app.add_typer(verifier.app, name="verifier")
app.command("select")(select.select_cmd)
app.command("solve")(solve.solve_cmd)
app.command("demo")(demo.demo_cmd)
app.add_typer(swebench.app, name="swebench")


def _expected_errors() -> tuple[type[BaseException], ...]:
    from patchjury.agent.errors import AgentError
    from patchjury.core.config import ConfigError
    from patchjury.core.errors import PatchjuryError
    from patchjury.envs.errors import EnvError
    from patchjury.selection.errors import SelectionError
    from patchjury.tools.errors import ToolError
    from patchjury.trajectory_record import RecordFileError

    return (PatchjuryError, EnvError, ConfigError, AgentError, SelectionError, ToolError, RecordFileError)


def run_cli(cli: typer.Typer) -> None:
    """Run the typer app; known errors become `error: ...` on stderr and exit code 2."""
    try:
        cli(standalone_mode=True)
    except _expected_errors() as exc:
        if os.environ.get("PATCHJURY_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


OPTIONAL_VALUES = {"--ray": "auto"}
"""Options whose value may be left out (`--ray` alone means the cluster on this machine)."""


def optional_values(argv: list[str]) -> list[str]:
    """`--ray` followed by nothing or by another option gets its default value (click has no optional values)."""
    out = []
    for k, arg in enumerate(argv):
        out.append(arg)
        nxt = argv[k + 1] if k + 1 < len(argv) else None
        if arg in OPTIONAL_VALUES and (nxt is None or nxt.startswith("-")):
            out.append(OPTIONAL_VALUES[arg])
    return out


def main() -> None:
    """Console entry point (`patchjury`): containers are removed on SIGTERM too (installed here, in the main
    thread, before any worker starts one); one clear error line for expected failures, no traceback."""
    from patchjury.envs.cleanup import install_handlers

    install_handlers()
    sys.argv[1:] = optional_values(sys.argv[1:])
    run_cli(app)
