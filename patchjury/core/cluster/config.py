"""How a run uses a Ray cluster (`--ray [ADDRESS]`, `--image-registry`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SLOT_RESOURCE = "patchjury_slots"


class RayConfig(BaseModel):
    """The cluster, what a node must offer, and how lost work is retried."""

    model_config = ConfigDict(extra="forbid")

    address: str = "auto"
    """Ray address: `auto` (the cluster started on this machine / $RAY_ADDRESS), `HOST:PORT` of the head's GCS,
    or `ray://HOST:10001` (Ray client)."""
    slot_resource: str = SLOT_RESOURCE
    """Custom resource a node offers once per trajectory worker (container at once); give it only to nodes
    with a Docker engine: `ray start ... --resources='{"patchjury_slots": 4}'`."""
    image_registry: str | None = None
    """`HOST[:PORT]/PREFIX` shared by the nodes: a node pulls an environment image from it before building, and
    pushes what it builds (None: every node builds or reuses its own images)."""
    node_retries: int = Field(default=3, ge=0)
    """How often one trajectory is resubmitted after its node died (it resumes from its last checkpoint that
    reached the driver)."""
    no_node_timeout_s: float = Field(default=120.0, gt=0)
    """Seconds the driver waits while no live node offers `slot_resource` before it stops the run (resumable)."""
    probe_timeout_s: float = Field(default=180.0, gt=0)
    """Seconds the start-up checks (Docker, patchjury, registry on every node) may take."""
    connect_timeout_s: float = Field(default=15.0, gt=0)
    """Seconds to reach the head before `--ray ADDRESS` is reported unreachable."""
