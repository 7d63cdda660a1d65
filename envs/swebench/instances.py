"""SWE-bench instances: load them (.json/.jsonl/.jsonl.gz/.parquet or a Hugging Face dataset) and select some.

Both schemas are accepted: FAIL_TO_PASS/PASS_TO_PASS as lists or as JSON strings, and the 2026 schema whose
rows also carry `eval_script`, `log_parser`, `eval_type` and `image`. Gold fields (patch, test_patch,
FAIL_TO_PASS, PASS_TO_PASS, eval_script) stay on the instance for grading only; `to_task()` drops them.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from patchjury.envs.swebench.errors import DatasetError, SelectionError
from patchjury.records import Task

#: Fields only the grader may read.
GOLD_FIELDS = ("patch", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS", "eval_script")


class SWEInstance(BaseModel):
    """One SWE-bench task instance (unknown extra columns are kept)."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    """Unique id, e.g. `sympy__sympy-20590`."""
    repo: str
    """`owner/name` on GitHub."""
    base_commit: str
    """Commit the issue is solved against."""
    problem_statement: str = ""
    """The issue text."""
    hints_text: str = ""
    """Comments on the issue before the fix (optional context)."""
    version: str = ""
    """Release of the repo (selects the install recipe)."""
    environment_setup_commit: str = ""
    """Commit whose dependencies define the environment of this version."""
    created_at: str = ""
    """When the fixing PR was created."""
    patch: str = ""
    """GOLD: the reference fix (grading only)."""
    test_patch: str = ""
    """GOLD: the tests added by the fixing PR (grading only)."""
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    """GOLD: tests that must go from failing to passing."""
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    """GOLD: tests that must keep passing."""
    eval_script: str | None = None
    """GOLD (2026 schema): the official per-instance test script for the official images."""
    log_parser: str | None = None
    """(2026 schema) Name of the log parser, e.g. `parse_log_pytest`."""
    eval_type: str | None = None
    """(2026 schema) `pass_and_fail` or `fail_only`."""
    image: str | None = None
    """(2026 schema) Official image name for this instance."""

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON list of test names: {exc}") from exc
        if hasattr(value, "tolist"):  # numpy/pyarrow arrays from parquet
            value = value.tolist()
        return value

    @field_validator(
        "version",
        "hints_text",
        "problem_statement",
        "created_at",
        "environment_setup_commit",
        "patch",
        "test_patch",
        mode="before",
    )
    @classmethod
    def _as_str(cls, value: Any) -> Any:
        if value is None:
            return ""
        return value if isinstance(value, str) else str(value)

    @property
    def owner_name(self) -> str:
        """`owner__name`, the repo cache entry name (e.g. `psf__requests`)."""
        return self.repo.replace("/", "__")

    def to_task(self, include_hints: bool = True) -> Task:
        """The agent's view: issue text, hints, repo and base commit. Never any gold field."""
        return Task(
            instance_id=self.instance_id,
            problem_statement=self.problem_statement,
            repo=self.repo,
            base_commit=self.base_commit,
            hints_text=self.hints_text if include_hints else "",
        )


def _rows_from_json(path: Path, text: str) -> list[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(text)
        return list(data)
    if stripped.startswith("{") and not path.name.endswith((".jsonl", ".jsonl.gz")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None  # maybe JSON Lines with a .json name
        if isinstance(data, dict):
            if "instance_id" in data:
                return [data]
            if all(isinstance(v, dict) for v in data.values()):
                return [{"instance_id": k, **v} for k, v in data.items()]
            raise DatasetError(f"{path}: a JSON object that is neither an instance nor a map of instances")
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path}:{lineno}: not valid JSON ({exc.msg}); expected one object per line"
            ) from exc
    return rows


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .json/.jsonl/.json.gz/.jsonl.gz/.parquet file as dicts."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DatasetError(
                f"{path}: reading parquet needs pyarrow; install it with `pip install 'patchjury[data]'`"
            ) from exc
        try:
            return list(pq.read_table(path).to_pylist())
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{path}: not a readable parquet file ({exc})") from exc
    try:
        if name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                text = fh.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DatasetError(
            f"{path}: cannot read ({exc}); pass a .json, .jsonl(.gz) or .parquet file"
        ) from exc
    try:
        return _rows_from_json(path, text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def _rows_from_hub(name: str) -> list[dict[str, Any]]:
    dataset, _, split = name.partition(":")
    try:
        import datasets
    except ImportError as exc:
        raise DatasetError(
            f"{name!r} is not a file, and loading Hugging Face datasets needs `datasets`: "
            "install `patchjury[data]`, or pass a .json/.jsonl(.gz)/.parquet file"
        ) from exc
    try:
        ds = datasets.load_dataset(dataset, split=split or "test")
    except (OSError, ValueError, ConnectionError) as exc:
        raise DatasetError(
            f"cannot load Hugging Face dataset {dataset!r} (split {split or 'test'!r}): {exc}; "
            "check the name and that you are online, or pass a local file"
        ) from exc
    return [dict(row) for row in ds]


def parse_instances(rows: Iterable[dict[str, Any]], source: str = "<rows>") -> list[SWEInstance]:
    """Validate raw rows into instances; the first bad row gives one clear error."""
    out: list[SWEInstance] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DatasetError(f"{source}: row {i} is a {type(row).__name__}, expected an object")
        try:
            inst = SWEInstance.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise DatasetError(
                f"{source}: row {i} ({row.get('instance_id', '?')}): field {where!r}: {first['msg']}"
            ) from exc
        if inst.instance_id in seen:
            raise DatasetError(f"{source}: instance {inst.instance_id!r} appears twice")
        seen.add(inst.instance_id)
        out.append(inst)
    return out


def load_instances(source: str | Path) -> list[SWEInstance]:
    """Load instances from a file, or from a Hugging Face dataset `NAME[:SPLIT]` when it is not a file."""
    path = Path(source)
    if path.is_file():
        return parse_instances(read_rows(path), str(path))
    if path.exists():
        raise DatasetError(f"{path} is not a file; pass a .json, .jsonl(.gz) or .parquet file")
    text = str(source)
    if re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.\-\[\]%:]+)?", text) and not path.suffix.startswith(
        (".json", ".pa")
    ):
        return parse_instances(_rows_from_hub(text), text)
    raise DatasetError(f"instances file {text!r} not found; pass an existing .json/.jsonl(.gz)/.parquet file")


def parse_slice(spec: str) -> slice:
    """`"0:10"`, `"5:"`, `":3"`, `"0:10:2"` or a single index `"7"` -> a slice."""
    parts = spec.split(":")
    try:
        if len(parts) == 1:
            i = int(parts[0])
            return slice(i, i + 1 if i != -1 else None)
        if len(parts) > 3:
            raise ValueError(spec)
        nums = [int(p) if p.strip() else None for p in parts]
    except ValueError as exc:
        raise SelectionError(f"bad --slice {spec!r}; use START:STOP[:STEP], e.g. 0:10") from exc
    return slice(*nums)


def close_matches(name: str, known: Sequence[str], n: int = 3) -> list[str]:
    """Known ids that look like `name` (for 'did you mean' hints)."""
    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)


def unknown_ids_error(
    unknown: Sequence[str],
    known: Sequence[str],
    what: str = "instances",
    fix: str = "check the id or the --instances file",
) -> SelectionError:
    """One error naming the unknown ids and their closest known ids."""
    hints = []
    for uid in unknown[:5]:
        near = close_matches(uid, known)
        hints.append(f"{uid} (did you mean {', '.join(near)}?)" if near else uid)
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return SelectionError(
        f"unknown instance id{'s' if len(unknown) > 1 else ''} {'; '.join(hints)}{more} "
        f"- not among the {len(known)} {what}; {fix}"
    )


def select_ids(
    ids: Sequence[str],
    instance_ids: Sequence[str] | None = None,
    slice_spec: str | None = None,
    filter_regex: str | None = None,
    what: str = "instances",
    fix: str = "check the id or the --instances file",
) -> list[str]:
    """Keep the named ids (in the given order), then those matching `filter_regex`, then the slice
    (`--instance-ids`, `--filter`, `--slice` of every command that selects instances)."""
    selected = list(ids)
    if instance_ids:
        wanted = {i.strip() for i in instance_ids if i.strip()}
        unknown = sorted(wanted - set(ids))
        if unknown:
            raise unknown_ids_error(unknown, ids, what, fix)
        selected = [i for i in selected if i in wanted]
    if filter_regex:
        try:
            pattern = re.compile(filter_regex)
        except re.error as exc:
            raise SelectionError(f"bad --filter regex {filter_regex!r}: {exc}") from exc
        selected = [i for i in selected if pattern.search(i)]
    if slice_spec:
        selected = selected[parse_slice(slice_spec)]
    return selected


def select_instances(
    instances: Sequence[SWEInstance],
    instance_ids: Sequence[str] | None = None,
    slice_spec: str | None = None,
    filter_regex: str | None = None,
) -> list[SWEInstance]:
    """Keep the named ids (in dataset order), then those whose id matches `filter_regex`, then the slice."""
    keep = select_ids([i.instance_id for i in instances], instance_ids, slice_spec, filter_regex)
    by_id = {i.instance_id: i for i in instances}
    return [by_id[iid] for iid in keep]
