"""Where SWE-bench instances and their environments come from: shared by `swebench eval` and `swebench run`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class InstanceSource(BaseModel):
    """Which instances, from which file or dataset, and how their repositories and images are obtained."""

    model_config = ConfigDict(extra="forbid")

    instances: str
    """Instances file (.json/.jsonl(.gz)/.parquet) or a Hugging Face dataset `NAME[:SPLIT]`."""
    instance_ids: list[str] = Field(default_factory=list)
    """Only these instances."""
    slice: str | None = None
    """Python slice over the (filtered) instances, e.g. `0:10`."""
    filter: str | None = None
    """Regex an instance id must match."""
    repo_cache: Path | None = None
    """Directory of clones / bare mirrors named owner__name (default: $PATCHJURY_REPO_CACHE)."""
    allow_clone: bool = True
    """`git clone` repositories missing from the cache."""
    recipes: Path | None = None
    """Install recipes file (default: the bundled envs/swebench/recipes.yaml)."""
    use_official_image: bool = False
    """Pull the official image named in each instance instead of building locally."""
