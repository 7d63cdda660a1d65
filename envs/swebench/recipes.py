"""Install recipes: how to build a SWE-bench instance environment locally, per repo and version.

Recipes live in envs/swebench/recipes.yaml (schema documented at its top). `get_recipe(repo, version)`
merges the repo's fields with the first matching `versions:` override (exact key first, then glob keys
such as `"1.*"` in file order). A repo without a recipe, or a version marked `unsupported`, raises
RecipeMissing with the reason; the harness records it for that instance and goes on.
"""

from __future__ import annotations

import fnmatch
import threading
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from patchjury.envs.swebench.errors import RecipeError, RecipeMissing

DEFAULT_RECIPES = Path(__file__).with_name("recipes.yaml")

#: Python version -> Debian suite of the patchjury base image that ships it (see envs.bootstrap).
PYTHON_SUITE = {"3.9": "bullseye", "3.11": "bookworm"}

#: PATH of the Debian base images (what `$PATH` in a recipe's env expands to).
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Directives = Literal["auto", "paths", "django_modules", "none"]


class RecipeOverride(BaseModel):
    """Fields a `versions:` entry may override (unset fields keep the repo-level value)."""

    model_config = ConfigDict(extra="forbid")

    python: Literal["3.9", "3.11"] | None = None
    """Python of the base image: 3.9 (Debian bullseye) or 3.11 (Debian bookworm)."""
    base_image: str | None = None
    """Explicit base image tag instead of the one chosen by `python`."""
    pre_install: list[str] | None = None
    """Shell commands run first, from the repo root (/testbed), e.g. creating the venv."""
    install: list[str] | None = None
    """Shell commands that install the repo and its pinned dependencies (CA bundle mounted, network on)."""
    test_cmd: str | None = None
    """Test command; the test files touched by test_patch are appended (see `directives`). Unset: the
    command found in the instance's eval_script between the Start/End Test Output markers."""
    directives: Directives | None = None
    """What to append to `test_cmd`: `paths` (test file paths), `django_modules` (dotted module names, as
    for django's runtests.py), `none`, or `auto` (django_modules for django/django, else paths)."""
    env: dict[str, str] | None = None
    """Environment variables set in the image and for every test command (e.g. PATH with /opt/venv/bin)."""
    log_parser: str | None = None
    """Log parser name (see envs.swebench.parsers.PARSERS); unset: the instance's `log_parser`, else by repo."""
    test_timeout: float | None = Field(default=None, gt=0)
    """Seconds the test command may run."""
    network: bool | None = None
    """Give the test container network access (default off; tests needing the internet cannot pass here)."""
    submodules: bool | None = None
    """Check out the repository's git submodules at the commits its tree pins, from the repo cache
    (`owner__name` for a github.com URL), before setup: what the official build fetches from GitHub."""
    unsupported: str | None = None
    """A reason this repo/version cannot be built here; instances get it as their recorded error."""
    notes: str | None = None
    """Free text copied into each report (known limitations, e.g. tests that need the internet)."""


class Recipe(BaseModel):
    """A resolved recipe for one repo/version (the repo's fields merged with its version override)."""

    model_config = ConfigDict(extra="forbid")

    repo: str
    """`owner/name` this recipe is for."""
    version: str = ""
    """The instance version it was resolved for."""
    python: Literal["3.9", "3.11"] = "3.11"
    """Python of the base image: 3.9 (Debian bullseye) or 3.11 (Debian bookworm)."""
    base_image: str | None = None
    """Explicit base image tag instead of the one chosen by `python`."""
    pre_install: list[str] = Field(default_factory=list)
    """Shell commands run first, from the repo root (/testbed), e.g. creating the venv."""
    install: list[str] = Field(default_factory=list)
    """Shell commands that install the repo and its pinned dependencies (CA bundle mounted, network on)."""
    test_cmd: str | None = None
    """Test command; the test files touched by test_patch are appended (see `directives`). None: the
    command found in the instance's eval_script between the Start/End Test Output markers."""
    directives: Directives = "auto"
    """What to append to `test_cmd`: `paths`, `django_modules`, `none`, or `auto` (by repo)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables set in the image and for every test command."""
    log_parser: str | None = None
    """Log parser name; None: the instance's `log_parser`, else the default for the repo."""
    test_timeout: float = Field(default=1800.0, gt=0)
    """Seconds the test command may run."""
    network: bool = False
    """Give the test container network access."""
    submodules: bool = False
    """Check out the repository's git submodules (from the repo cache) before setup."""
    unsupported: str | None = None
    """A reason this repo/version cannot be built here."""
    notes: str = ""
    """Free text copied into each report."""

    @property
    def suite(self) -> str:
        """Debian suite of the base image for `python`."""
        return PYTHON_SUITE[self.python]

    def resolved_env(self) -> dict[str, str]:
        """`env` with `$PATH` / `${PATH}` expanded against the base images' default PATH."""
        return {
            k: v.replace("${PATH}", DEBIAN_PATH).replace("$PATH", DEBIAN_PATH) for k, v in self.env.items()
        }

    def setup_commands(self) -> list[str]:
        """pre_install then install: the commands run while building the environment image."""
        return [*self.pre_install, *self.install]


class RepoRecipe(RecipeOverride):
    """A repo's entry in recipes.yaml: default fields plus per-version overrides."""

    versions: dict[str, RecipeOverride | None] = Field(default_factory=dict)
    """Version (exact, or a glob like `"3.*"`) -> overrides; an empty entry just lists a known version."""


class RecipeFile(BaseModel):
    """The whole recipes.yaml."""

    model_config = ConfigDict(extra="forbid")

    repos: dict[str, RepoRecipe] = Field(default_factory=dict)
    """`owner/name` -> its recipe."""


_CACHE: dict[tuple[str, float], RecipeFile] = {}
_LOCK = threading.Lock()


def load_recipes(path: Path | None = None) -> RecipeFile:
    """Parse and validate a recipes file (cached per path and modification time)."""
    path = Path(path or DEFAULT_RECIPES)
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError as exc:
        raise RecipeError(
            f"recipes file {path} not readable ({exc.strerror}); pass an existing file"
        ) from exc
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RecipeError(f"recipes file {path} is not valid YAML: {exc}") from exc
    try:
        parsed = RecipeFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RecipeError(
            f"recipes file {path}: {where}: {first['msg']} (see the schema at its top)"
        ) from exc
    with _LOCK:
        _CACHE[key] = parsed
    return parsed


def _match_version(versions: dict[str, RecipeOverride | None], version: str) -> RecipeOverride | None:
    if version in versions:
        return versions[version] or RecipeOverride()
    for pattern, override in versions.items():
        if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(version, pattern):
            return override or RecipeOverride()
    return None


def get_recipe(repo: str, version: str = "", path: Path | None = None) -> Recipe:
    """The merged recipe for `repo` at `version`; RecipeMissing (with the reason) when there is none."""
    path = Path(path or DEFAULT_RECIPES)
    recipes = load_recipes(path)
    entry = recipes.repos.get(repo)
    if entry is None:
        raise RecipeMissing(
            f"no install recipe for {repo} in {path}; add one under `repos:` (schema at the top of the file) "
            "or use the official image (--use-official-image)"
        )
    fields: dict[str, Any] = {
        k: v for k, v in entry.model_dump(exclude={"versions"}).items() if v is not None
    }
    override = _match_version(entry.versions, version) if entry.versions else None
    if entry.versions and override is None and "*" not in entry.versions:
        known = ", ".join(sorted(entry.versions))
        raise RecipeMissing(
            f"no install recipe for {repo} version {version!r} in {path} (known versions: {known}); "
            "add it under `versions:`"
        )
    if override is not None:
        fields.update({k: v for k, v in override.model_dump().items() if v is not None})
    recipe = Recipe(repo=repo, version=version, **fields)
    if recipe.unsupported:
        raise RecipeMissing(f"{repo} {version}: {recipe.unsupported}")
    return recipe
