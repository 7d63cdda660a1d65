"""Settings of the reproduction tests derived from the issue text (see selection/issue_tests.py).

Kept apart from selection/config.py so that the extraction code can import it without a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: isympy's defaults (`isympy` runs these before the first prompt), plus `import sympy`: what sympy issue
#: transcripts assume.
SYMPY_PRELUDE = (
    "import sympy\n"
    "from sympy import *\n"
    "x, y, z, t = symbols('x y z t')\n"
    "k, m, n = symbols('k m n', integer=True)\n"
    "f, g, h = symbols('f g h', cls=Function)\n"
)
#: Modules searched, in order, for names a sympy snippet reads but never binds (e.g. `convert_to`, `joule`).
SYMPY_RESOLVE = [
    "sympy.physics.units",
    "sympy.utilities.iterables",
    "sympy.utilities.lambdify",
    "sympy.stats",
    "sympy.combinatorics",
    "sympy.vector",
    "sympy.physics.vector",
    "sympy.physics.mechanics",
    "sympy.physics.quantum",
    "sympy.parsing.sympy_parser",
    "sympy.tensor",
    "sympy.codegen",
    "sympy.abc",
]


class IssueTestsConfig(BaseModel):
    """Reproduction tests generated from code in the issue text (doctest sessions, scripts + tracebacks).

    Only `Task.problem_statement` (and `hints_text` when `use_hints`) is read, never gold fields.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Add issue-derived tests to the candidates' tests in the pass matrix (when execution is on)."""
    use_hints: bool = False
    """Also extract code from `Task.hints_text` (discussion after the issue; SWE-bench allows it)."""
    max_snippets: int = Field(default=8, ge=0)
    """Most snippets turned into tests per instance (a doctest session gives two tests, a script one)."""
    max_chars: int = Field(default=20_000, ge=100)
    """Snippets longer than this (characters) are skipped."""
    output_limit: int = Field(default=2000, ge=100)
    """Characters of captured output (per example / per script) a runner prints in its report."""
    python: str = "python"
    """Interpreter command that runs the generated runner scripts inside the environment (cwd = repo root)."""
    directory: str = ".patchjury_issue_tests"
    """Hidden directory (relative to the repo root) the runner scripts are written to; must not exist in repos."""
    preludes: dict[str, str] = Field(default_factory=lambda: {"sympy/sympy": SYMPY_PRELUDE})
    """Code run before a snippet, per `owner/name` repo (issues often omit imports). Default: isympy's
    defaults for sympy/sympy; no prelude for other repos."""
    resolve_from: dict[str, list[str]] = Field(default_factory=lambda: {"sympy/sympy": list(SYMPY_RESOLVE)})
    """Per repo, modules searched in order for names a snippet reads but never binds and the prelude does not
    define (imported lazily, only when such a name exists). Default: common sympy submodules; none otherwise."""
