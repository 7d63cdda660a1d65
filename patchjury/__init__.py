"""patchjury: many agent trajectories per issue, and a jury that picks the patch."""

__version__ = "0.1.0"
