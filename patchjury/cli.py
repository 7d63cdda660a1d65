"""The `patchjury` command. Sub-commands live in patchjury/cli_*.py; heavy imports stay inside commands."""

from __future__ import annotations

import typer

from patchjury import __version__

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


@app.command()
def version() -> None:
    """Print the patchjury version."""
    typer.echo(__version__)


def _register() -> None:
    from patchjury import cli_show

    app.command("show")(cli_show.show_cmd)
    from patchjury import cli_images

    app.add_typer(cli_images.app, name="images")
    from patchjury import cli_verifier

    app.add_typer(cli_verifier.app, name="verifier")
    from patchjury import cli_select

    app.command("select")(cli_select.select_cmd)
    from patchjury import cli_demo, cli_solve

    app.command("solve")(cli_solve.solve_cmd)
    app.command("demo")(cli_demo.demo_cmd)
    from patchjury import cli_swebench

    app.add_typer(cli_swebench.app, name="swebench")
    from patchjury import cli_swebench_run

    cli_swebench.app.command("run")(cli_swebench_run.run_cmd)


_register()


def main() -> None:
    """Console entry point: one clear error line for expected failures, no traceback."""
    from patchjury.errors import run_cli

    run_cli(app)


if __name__ == "__main__":
    main()
