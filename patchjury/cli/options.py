"""One CLI vocabulary: every option more than one command takes is defined here once, with one meaning per word
(spelled as mini-swe-agent and SWE-bench's harness spell them) and grouped in help panels.

    --workers / -w     instances processed at once            (swebench run, swebench eval)
    --traj-workers     trajectories at once per instance      (solve, demo, swebench run; config agent.workers)
    --test-workers     the jury's test environments at once   (solve, swebench run, select;
                       per instance                            config selection.execution.workers)
    --instance-ids     only these instances                   (swebench run, swebench eval, select)
    --slice, --filter  a slice / a regex over instance ids    (swebench run, swebench eval, select)
    --redo-existing    redo instances already finished in the output; without it a rerun resumes
                                                              (swebench run, swebench eval, select)
    --use-official-image, --repo-cache, --no-clone, --recipes: where instance images and repositories come from
    --memory, --cpus   limits per container                   (solve, swebench run, swebench eval, select;
                                                               config env.memory / env.cpus)
    --ray [ADDRESS], --image-registry HOST/PREFIX: run on a Ray cluster (swebench run, solve; config ray.*)

Old spellings (`select --workers/--instance-id/--official-images/--resume`, `solve/demo --workers`,
`swebench eval --redo`) stay as hidden aliases for one release: `renamed` maps them and warns on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer

from patchjury.core.errors import UsageError

DATA = "Data selection"
MODEL = "Model and agent"
PARALLEL = "Parallelism"
ENV = "Environment"
OUTPUT = "Output"
CONFIG = "Configuration"
CLUSTER = "Cluster (Ray)"

Instances = Annotated[
    str,
    typer.Option(
        "--instances",
        "-i",
        help="Instances file (.json/.jsonl(.gz)/.parquet) or HF dataset NAME[:SPLIT].",
        rich_help_panel=DATA,
    ),
]
InstanceIds = Annotated[
    list[str] | None,
    typer.Option(
        "--instance-ids",
        help="Only these instance ids (repeat the flag or separate them with commas/spaces).",
        rich_help_panel=DATA,
    ),
]
Slice = Annotated[
    str | None,
    typer.Option(
        "--slice", help="Python slice over the selected instances, e.g. 0:10.", rich_help_panel=DATA
    ),
]
Filter = Annotated[
    str | None, typer.Option("--filter", help="Regex an instance id must match.", rich_help_panel=DATA)
]

Models = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="litellm model name (or deterministic:SCRIPT.yaml, replay:TRAJ.json); repeat to mix models.",
        rich_help_panel=MODEL,
    ),
]
Trajectories = Annotated[
    int | None,
    typer.Option(
        "-n",
        "--trajectories",
        min=1,
        help="Trajectories (candidate patches) per issue.",
        rich_help_panel=MODEL,
    ),
]
MaxCost = Annotated[
    float | None,
    typer.Option(
        "--max-cost",
        min=0,
        help="Dollar budget per issue, split evenly into each trajectory's cost limit.",
        rich_help_panel=MODEL,
    ),
]
Config = Annotated[
    list[str] | None,
    typer.Option(
        "-c",
        "--config",
        help="Config YAML file or KEY.PATH=VALUE override; repeatable, merged left to right.",
        rich_help_panel=CONFIG,
    ),
]

Workers = Annotated[
    int, typer.Option("--workers", "-w", min=1, help="Instances processed at once.", rich_help_panel=PARALLEL)
]
TrajWorkers = Annotated[
    int | None,
    typer.Option(
        "--traj-workers",
        min=1,
        help="Trajectories running at once per instance (config agent.workers).",
        rich_help_panel=PARALLEL,
    ),
]
TestWorkers = Annotated[
    int | None,
    typer.Option(
        "--test-workers",
        min=1,
        help="The jury's test environments at once per instance (config selection.execution.workers).",
        rich_help_panel=PARALLEL,
    ),
]

RepoCache = Annotated[
    Path | None,
    typer.Option(
        "--repo-cache",
        help="Directory of clones/bare mirrors named owner__name (default: $PATCHJURY_REPO_CACHE).",
        rich_help_panel=ENV,
    ),
]
NoClone = Annotated[
    bool, typer.Option("--no-clone", help="Never git clone; use only the repo cache.", rich_help_panel=ENV)
]
Recipes = Annotated[
    Path | None,
    typer.Option("--recipes", help="Install recipes YAML (default: the bundled one).", rich_help_panel=ENV),
]
UseOfficialImage = Annotated[
    bool,
    typer.Option(
        "--use-official-image",
        help="docker pull the official SWE-bench image named in each instance instead of building it.",
        rich_help_panel=ENV,
    ),
]
Setup = Annotated[
    str | None,
    typer.Option(
        "--setup",
        help="Command installing the repository's dependencies into the environment image (config env.setup).",
        rich_help_panel=ENV,
    ),
]
EnvType = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="auto|docker|local",
        help="Where commands run: docker sandboxes (auto, the default, is docker and stops with the fix when no "
        "engine answers) or local (NOT isolated: as you, in a temporary checkout) (config env.type).",
        rich_help_panel=ENV,
    ),
]
Memory = Annotated[
    str | None,
    typer.Option(
        "--memory", help="Memory limit per container, e.g. 4g (config env.memory).", rich_help_panel=ENV
    ),
]
Cpus = Annotated[
    float | None,
    typer.Option("--cpus", min=0.01, help="CPU cores per container (config env.cpus).", rich_help_panel=ENV),
]

Out = Annotated[Path, typer.Option("--out", "-o", help="Output directory.", rich_help_panel=OUTPUT)]
RedoExisting = Annotated[
    bool,
    typer.Option(
        "--redo-existing",
        help="Redo instances already finished in the output (without it, a rerun resumes and skips them).",
        rich_help_panel=OUTPUT,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress view.", rich_help_panel=OUTPUT)]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Print every step: thought, tool calls, abridged observations.",
        rich_help_panel=OUTPUT,
    ),
]

#: Old spellings, hidden; mapped by `renamed`.
OldWorkers = Annotated[int | None, typer.Option("--workers", hidden=True)]

T = TypeVar("T")


def split_ids(values: list[str] | None) -> list[str]:
    """`--instance-ids a,b --instance-ids c` -> [a, b, c] (commas or spaces separate ids)."""
    return [x for v in values or [] for x in v.replace(",", " ").split() if x]


def warn_old(command: str, old: str, instead: str) -> None:
    """One line on stderr: `old` is a hidden alias kept for one release."""
    typer.echo(
        f"warning: `patchjury {command} {old}` is an old spelling, removed in the next release: {instead}",
        err=True,
    )


def renamed(command: str, new: str, new_value: T, old: str, old_value: T | None) -> T:
    """The value of option `new`, also accepting its old spelling `old` (a hidden alias kept for one release)
    with a warning on stderr; both given with different values is an error."""
    if old_value is None or old_value is False or old_value == []:
        return new_value
    warn_old(command, old, f"use {new}")
    unset = new_value is None or new_value is False or new_value == []
    if not unset and new_value != old_value:
        raise UsageError(f"{old} and {new} disagree ({old_value!r} vs {new_value!r}); pass {new} only")
    return old_value


Ray = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Run trajectories and the jury's containers on a Ray cluster: HOST:PORT of its head, "
        "ray://HOST:10001, or nothing (auto) for the one on this machine. Nodes with Docker offer the "
        "patchjury_slots resource (docs/scale.md).",
        rich_help_panel=CLUSTER,
    ),
]
ImageRegistry = Annotated[
    str | None,
    typer.Option(
        "--image-registry",
        metavar="HOST/PREFIX",
        help="With --ray: nodes pull environment images from this registry before building, and push what they "
        "build.",
        rich_help_panel=CLUSTER,
    ),
]
Adaptive = Annotated[
    bool,
    typer.Option(
        "--adaptive",
        help="Sample trajectories in waves (2, then 2 more...) and stop once the jury is sure of its pick, up to -n "
        "(config adaptive.threshold, adaptive.rule).",
        rich_help_panel=MODEL,
    ),
]
