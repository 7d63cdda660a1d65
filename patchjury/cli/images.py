"""`patchjury images ...`: base images for sandboxes."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Build or reuse sandbox base images (offline debootstrap when no registry).", no_args_is_help=True
)


@app.command("bootstrap")
def bootstrap_cmd(
    suite: str = typer.Option(
        "bookworm", help="Debian suite: bookworm (Python 3.11) or bullseye (Python 3.9)."
    ),
    mirror: str | None = typer.Option(
        None, help="Debian mirror URL; default: read from this machine's apt sources."
    ),
    force: bool = typer.Option(False, help="Rebuild even if the image exists."),
) -> None:
    """Build a base image with debootstrap + docker import (no registry needed); prints its tag."""
    from patchjury.envs.bootstrap import bootstrap

    typer.echo(bootstrap(suite, mirror=mirror, force=force))
