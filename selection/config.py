"""Configuration of the jury: which signals to gather (execution, regression, verifier) and which rule decides.

Load with `patchjury.core.config.build_config(SelectionConfig, ["-c", ...])` from the CLI, or build in code:
`SelectionConfig(selector="r2e_hybrid", execution={"workers": 4})`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from patchjury.selection.issue_config import IssueTestsConfig
from patchjury.selection.scores import B4Config, check_score_name
from patchjury.selection.selectors import LearnedWeights, check_rule_name
from patchjury.selection.verifier.config import VerifierConfig

if TYPE_CHECKING:
    from patchjury.envs.swebench.build import InstanceImage
    from patchjury.envs.swebench.instances import SWEInstance

__all__ = ["B4Config", "ExecutionConfig", "LearnedWeights", "RegressionConfig", "SelectionConfig"]


class ExecutionConfig(BaseModel):
    """The pass matrix: every candidate's reproduction tests against every candidate and the original code."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Run tests at all. Off (or `--no-exec`) leaves only execution-free signals."""
    workers: int = Field(default=2, ge=1, le=64)
    """Parallel workers; each owns one Env (container or checkout), reset between cells."""
    test_timeout: float = Field(default=60.0, gt=0)
    """Seconds per test run (one cell); a cell that exceeds it is marked `timeout`."""
    output_tail: int = Field(default=600, ge=0)
    """Characters of output kept per cell (the tail), for explanations and debugging."""
    max_tests: int = Field(default=64, ge=1)
    """Cap on distinct reproduction tests run (the first ones by candidate order); bounds cost."""
    isolation: Literal["checked", "cell"] = "checked"
    """`cell`: reset and re-apply the patch before every cell. `checked` (faster): apply once per subject and
    reset only when a test left the work tree changed (tracked edits or new non-ignored files)."""
    strip_scratch: bool = True
    """Strip agent scratch files (new root files, copies of the pool's test scripts, backups, databases...; see
    selection/scratch.py) from a patch before it is applied; what was stripped is recorded per subject."""
    test_dir: str = ".patchjury_tests"
    """Where candidates' tests are written and run from (`<test_dir>/<n>/<name>`, with the repository root on
    PYTHONPATH), so a test never overwrites a repository file or a candidate's own copy of the script."""
    issue_tests: IssueTestsConfig = Field(default_factory=IssueTestsConfig)
    """Reproduction tests generated from code in the issue text (doctest sessions, scripts + tracebacks),
    added to the candidates' tests; `issue_tests.enabled=false` turns them off (see selection/issue_tests.py)."""


class RegressionConfig(BaseModel):
    """Regression signal without gold data: repository tests near the edited files, run before and after."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Gather the signal when execution is on."""
    command: str = "python -m pytest -q -rA -p no:cacheprovider {files}"
    """Test command; `{files}` becomes the space-separated, shell-quoted test files, `{modules}` their labels for
    django's runtests.py (`tests/a/test_b.py` -> `a.test_b`). Its output is read by `parser`."""
    parser: str = "pytest_ra"
    """How to read per-test results from the output: `pytest_ra` (pytest's `-rA` short summary) or any SWE-bench log
    parser name (envs.swebench.parsers, e.g. `parse_log_sympy`, `parse_log_django`). `patchjury select --instances`
    sets command and parser from the instance's recipe unless `from_recipe` is off."""
    from_recipe: bool = True
    """With SWE-bench instance environments, run the recipe's test command and log parser (e.g. sympy's
    `bin/test`, django's `runtests.py`) instead of `command`/`parser`, which only fit pytest repositories."""
    timeout: float = Field(default=600.0, gt=0)
    """Seconds for the command that runs the whole selection on one subject (without `per_file`)."""
    file_timeout: float = Field(default=120.0, gt=0)
    """Seconds for one file's command with `per_file`; a file that still times out on the original code after the
    `timeout_retries` is left out."""
    scope: Literal["contenders", "all"] = "contenders"
    """Which candidates get the regression run (the costliest signal): `contenders` only those whose count can still
    change the selector's decision once the cheaper signals are in (staged: the candidates passing the most kept
    reproduction tests, then the most distinguishing ones; r2e_hybrid: the verifier's top k; learned: all; verifier,
    votes, majority: none), so decisions are the same as with `all`, which runs every applying candidate (complete
    explanations, and what a `learned` weight fit on your runs should see)."""
    timeout_retries: int = Field(default=1, ge=0)
    """When a command times out (one file's with `per_file`, else the whole selection's), run it again from a freshly
    reset and patched tree, up to this many times, each time with twice the previous limit: a timeout can come from
    machine load rather than the patch. Only a last attempt that still times out counts: on a candidate, the tests it
    did not finish are failures (a patch that makes the tests hang regresses); on the original code (per_file), the
    file is left out. A candidate's command starts at the limit under which the original code's run finished (a
    file that needed a retry there is not given a first attempt bound to time out). Worst case per hanging command:
    (1 + 2 + ... + 2^retries) x its starting limit. 0: no retry."""
    per_file: bool = False
    """Run each related test file in its own command: slower, but one file that crashes the runner (sympy's
    `bin/test` aborts on an import error) or hangs does not take the other files' results with it; a file whose run
    on the original code times out is left out (not run on every candidate). On for recipe test commands."""

    max_files: int = Field(default=4, ge=1)
    """Most related test files to run (closest matches first)."""
    importers: bool = True
    """Also pick test files that import an edited module (`git grep`), not only `test_<module>.py` names."""

    @field_validator("parser")
    @classmethod
    def _known_parser(cls, value: str) -> str:
        if value != "pytest_ra":
            from patchjury.envs.swebench.parsers import get_parser

            try:
                get_parser(value)
            except LookupError as exc:  # ParserError names the known parsers; ValueError -> ValidationError
                raise ValueError(str(exc)) from exc
        return value


class SelectionConfig(BaseModel):
    """Everything the jury needs to pick one patch per instance."""

    model_config = ConfigDict(extra="forbid")

    selector: str = "staged"
    """Decision rule, a name of selection.selectors.RULES: staged (ours), r2e_hybrid (R2E-Gym), learned, verifier,
    votes, majority."""
    scores: str = "votes"
    """Execution score used as `votes` in the evidence and by the `votes`/`r2e_hybrid` rules, a name of
    selection.scores.SCORES: votes, codet, b4."""
    codet_variant: Literal["product", "sqrt"] = "product"
    """CodeT consensus score: |tests| x |candidates| (paper) or |tests| x sqrt(|candidates|)."""
    b4: B4Config = Field(default_factory=B4Config)
    """Priors of the `b4` score."""
    k_min: int = Field(default=3, ge=1)
    """R2E-Gym rule: keep the top k = max(k_min, floor(N * k_fraction)) candidates by verifier score."""
    k_fraction: float = Field(default=0.5, gt=0, le=1)
    """R2E-Gym rule: fraction of the N candidates kept by the verifier stage."""
    learned: LearnedWeights = Field(default_factory=LearnedWeights)
    """Weights of the `learned` selector."""
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    """Pass-matrix settings."""
    regression: RegressionConfig = Field(default_factory=RegressionConfig)
    """Regression-signal settings."""
    use_verifier: bool = True
    """Score candidates with the execution-free verifier (needed by verifier, r2e_hybrid, learned)."""
    verifier: VerifierConfig = Field(default_factory=VerifierConfig)
    """Which verifier to load (trained default, or an LLM judge)."""
    model_name: str = "patchjury"
    """`model_name_or_path` written into predictions."""
    explain_dir: str | None = None
    """Directory for per-instance explanation markdown (and charts); None = next to the predictions."""
    charts: bool = False
    """Also write a PNG chart per instance (needs matplotlib; skipped with a note otherwise)."""

    @field_validator("selector")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        return check_rule_name(value)  # its SelectionConfigError is a ValueError: pydantic reports it

    @field_validator("scores")
    @classmethod
    def _known_score(cls, value: str) -> str:
        return check_score_name(value)


def with_recipe_regression(
    config: SelectionConfig, test_cmd: str | None, parser: str | None, directives: str = "paths"
) -> SelectionConfig:
    """`config` running the regression signal with an instance recipe's test command and log parser.

    Unchanged when `regression.from_recipe` is off or the recipe has no test command. The related test files are
    appended to `test_cmd`: as paths (sympy's `bin/test`, `pytest -rA`), or as module labels when the recipe's
    `directives` are `django_modules` (django's runtests.py).
    """
    if not (config.regression.from_recipe and test_cmd):
        return config
    slot = "{modules}" if directives == "django_modules" else "{files}"
    update = {"command": f"{test_cmd} {slot}", "parser": parser or "pytest_ra", "per_file": True}
    return config.model_copy(update={"regression": config.regression.model_copy(update=update)})


def recipe_regression(
    config: SelectionConfig, instance: SWEInstance, image: InstanceImage
) -> SelectionConfig:
    """`with_recipe_regression` for a SWE-bench instance built from a recipe (official images: unchanged)."""
    from patchjury.envs.swebench.grading import resolve_directives
    from patchjury.envs.swebench.parsers import parser_name_for

    recipe = image.recipe
    if recipe is None or image.official:
        return config
    parser = parser_name_for(instance.repo, instance.log_parser, recipe.log_parser)
    directives = resolve_directives(recipe.directives, instance.repo)
    return with_recipe_regression(config, recipe.test_cmd, parser, directives)
