"""Configuration of the agent's tools (limits, timeouts, repository-map budget)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ToolsConfig(BaseModel):
    """Which tools the agent gets and the limits they share (the settings file's `agent.tools` section)."""

    model_config = ConfigDict(extra="forbid")

    names: list[str] | None = None
    """Tool names offered to the model, in this order; None = every tool of patchjury.tools.registry."""
    output_limit: int = Field(default=10_000, ge=200)
    """Maximum characters of one observation the model sees (the only such limit); longer text keeps its head
    and tail with a note between."""
    search_max_results: int = Field(default=100, ge=1)
    """Maximum matching lines `search` shows (the total count is always reported)."""
    search_line_chars: int = Field(default=300, ge=40)
    """Each matching line shown by `search` is cut to this many characters (minified files)."""
    find_max_results: int = Field(default=200, ge=1)
    """Maximum paths `find_files` lists (the total count is always reported)."""
    dir_max_entries: int = Field(default=400, ge=10)
    """Maximum entries `view` lists for a directory (two levels deep)."""
    run_timeout: float = Field(default=120.0, gt=0)
    """Default timeout (seconds) of a `run` command when the model gives none."""
    run_max_timeout: float = Field(default=1800.0, gt=0)
    """Largest timeout (seconds) the model may ask `run` for; larger requests are lowered to it."""
    test_timeout: float = Field(default=300.0, gt=0)
    """Timeout (seconds) of one reproduction-test run by `run_test` (each of current and original code)."""
    test_output_limit: int = Field(default=4_000, ge=200)
    """Maximum characters of one test run's output inside a `run_test` observation."""
    default_test_path: str = "reproduce_issue.py"
    """Path (relative to the repo root) `write_test` uses when the model gives none."""
    require_test_to_submit: bool = False
    """When true, `submit` refuses until a reproduction test was written with `write_test`."""
    undo_depth: int = Field(default=20, ge=1)
    """How many earlier versions of each file `edit` keeps for `undo`."""
    state_dir: str = "/tmp/.patchjury"
    """Directory INSIDE the Env holding tool state (undo history, test manifest), one subdir per workdir."""
    repomap_tokens: int = Field(default=2048, ge=64)
    """Default token budget of the repository map (tokens estimated as characters / 4)."""
    repomap_max_file_bytes: int = Field(default=500_000, ge=1_000)
    """Python files larger than this are left out of the repository map (generated code, data)."""
    repomap_cache_dir: str | None = None
    """Host directory caching extracted definitions per commit; default ~/.cache/patchjury/repomap."""
    git_timeout: float = Field(default=120.0, gt=0)
    """Timeout (seconds) of bookkeeping commands the tools run themselves (git, find, archive)."""
