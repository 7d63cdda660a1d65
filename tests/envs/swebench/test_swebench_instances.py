"""Loading SWE-bench instances in every format and both schemas, selecting them, and the agent's view."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from patchjury.envs.errors import EnvError
from patchjury.envs.swebench.errors import DatasetError, SelectionError
from patchjury.envs.swebench.instances import (
    GOLD_FIELDS,
    SWEInstance,
    load_instances,
    parse_slice,
    select_instances,
)
from patchjury.envs.swebench.predictions import load_predictions

OLD = {  # 2023 schema: FAIL_TO_PASS/PASS_TO_PASS as JSON strings, version as a number
    "instance_id": "psf__requests-1",
    "repo": "psf/requests",
    "base_commit": "a" * 40,
    "problem_statement": "GET fails",
    "hints_text": "look at sessions.py",
    "version": 2.4,
    "patch": "diff --git a/x b/x\n",
    "test_patch": "diff --git a/test_x.py b/test_x.py\n",
    "FAIL_TO_PASS": '["test_x.py::test_a"]',
    "PASS_TO_PASS": "[]",
    "environment_setup_commit": "b" * 40,
}
NEW = {  # 2026 schema: lists, plus eval_script/log_parser/image
    "instance_id": "sympy__sympy-2",
    "repo": "sympy/sympy",
    "base_commit": "c" * 40,
    "problem_statement": "simplify hangs",
    "FAIL_TO_PASS": ["test_immutable"],
    "PASS_TO_PASS": ["test_structure", "test_equality"],
    "eval_script": "#!/bin/bash\n: '>>>>> Start Test Output'\nbin/test -C x.py\n: '>>>>> End Test Output'\n",
    "log_parser": "parse_log_sympy",
    "eval_type": "pass_and_fail",
    "image": "swebench/sweb.eval.x86_64.sympy_1776_sympy-2:latest",
    "difficulty": "<15 min fix",
}
ROWS = [OLD, NEW, {**NEW, "instance_id": "sympy__sympy-3"}, {**NEW, "instance_id": "django__django-4"}]


def _check(instances: list[SWEInstance]) -> None:
    assert [i.instance_id for i in instances] == [r["instance_id"] for r in ROWS]
    old, new = instances[0], instances[1]
    assert old.FAIL_TO_PASS == ["test_x.py::test_a"] and old.PASS_TO_PASS == []
    assert old.version == "2.4" and old.eval_script is None and old.log_parser is None
    assert new.PASS_TO_PASS == ["test_structure", "test_equality"]
    assert new.log_parser == "parse_log_sympy" and new.image and new.eval_script
    assert new.model_extra == {"difficulty": "<15 min fix"}


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "json", "json-map", "parquet"])
def test_loads_every_format_and_both_schemas(tmp_path: Path, fmt: str) -> None:
    if fmt == "jsonl":
        path = tmp_path / "d.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    elif fmt == "jsonl.gz":
        path = tmp_path / "d.jsonl.gz"
        with gzip.open(path, "wt") as fh:
            fh.write("\n".join(json.dumps(r) for r in ROWS))
    elif fmt == "json":
        path = tmp_path / "d.json"
        path.write_text(json.dumps(ROWS))
    elif fmt == "json-map":
        path = tmp_path / "d.json"
        path.write_text(
            json.dumps({r["instance_id"]: {k: v for k, v in r.items() if k != "instance_id"} for r in ROWS})
        )
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        rows = [{k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()} for r in ROWS]
        keys = sorted({k for r in rows for k in r})
        rows = [{k: r.get(k) for k in keys} for r in rows]  # from_pylist keeps only the first row's keys
        for r in rows:
            r["version"] = str(r["version"] or "")
        path = tmp_path / "d.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    instances = load_instances(path)
    if fmt == "parquet":  # parquet fills absent columns with None; same content otherwise
        assert (
            instances[0].FAIL_TO_PASS == ["test_x.py::test_a"]
            and instances[1].log_parser == "parse_log_sympy"
        )
        assert [i.instance_id for i in instances] == [r["instance_id"] for r in ROWS]
    else:
        _check(instances)


def test_real_dataset_file_loads(shared_data: Path) -> None:
    instances = load_instances(shared_data / "swebench" / "lite_dev.jsonl.gz")
    assert len(instances) == 23
    assert all(i.FAIL_TO_PASS and i.log_parser and i.eval_script for i in instances)


def test_to_task_carries_no_gold_field() -> None:
    inst = SWEInstance.model_validate(NEW | {"patch": "SECRET-FIX", "test_patch": "SECRET-TEST"})
    task = inst.to_task()
    dumped = json.dumps(task.model_dump())
    assert task.problem_statement == "simplify hangs" and task.base_commit == "c" * 40
    for secret in ("SECRET-FIX", "SECRET-TEST", "test_immutable", "Start Test Output"):
        assert secret not in dumped
    assert not set(task.model_dump()) & set(GOLD_FIELDS)
    assert SWEInstance.model_validate(OLD).to_task(include_hints=False).hints_text == ""


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json\n", "not valid JSON"),
        ('{"instance_id": "a"}\n', "field 'repo'"),
        (
            '[{"instance_id": "a", "repo": "o/n", "base_commit": "x", "FAIL_TO_PASS": "[oops"}]',
            "FAIL_TO_PASS",
        ),
    ],
)
def test_unreadable_dataset_is_one_clear_error(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=needle) as info:
        load_instances(path)
    assert isinstance(info.value, EnvError) and "\n" not in str(info.value)


def test_missing_file_and_missing_extras(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_instances(tmp_path / "nope.jsonl")
    gz = tmp_path / "broken.jsonl.gz"
    gz.write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="cannot read"):
        load_instances(gz)


def test_selection_ids_filter_slice() -> None:
    instances = [SWEInstance.model_validate(r) for r in ROWS]
    assert [i.instance_id for i in select_instances(instances, filter_regex=r"^sympy")] == [
        "sympy__sympy-2",
        "sympy__sympy-3",
    ]
    assert [i.instance_id for i in select_instances(instances, slice_spec="1:3")] == [
        "sympy__sympy-2",
        "sympy__sympy-3",
    ]
    assert [i.instance_id for i in select_instances(instances, slice_spec="-1")] == ["django__django-4"]
    picked = select_instances(instances, instance_ids=["django__django-4", "psf__requests-1"])
    assert [i.instance_id for i in picked] == ["psf__requests-1", "django__django-4"]  # dataset order
    both = select_instances(
        instances, instance_ids=["sympy__sympy-3", "psf__requests-1"], filter_regex="sympy"
    )
    assert [i.instance_id for i in both] == ["sympy__sympy-3"]


def test_selection_errors_name_the_problem() -> None:
    instances = [SWEInstance.model_validate(r) for r in ROWS]
    with pytest.raises(SelectionError, match=r"sympy__sympy-9 \(did you mean sympy__sympy-[23]"):
        select_instances(instances, instance_ids=["sympy__sympy-9"])
    with pytest.raises(SelectionError, match="bad --slice"):
        select_instances(instances, slice_spec="a:b")
    with pytest.raises(SelectionError, match="bad --filter"):
        select_instances(instances, filter_regex="(")
    assert parse_slice("5:") == slice(5, None) and parse_slice("0:10:2") == slice(0, 10, 2)


def test_predictions_formats_and_errors(tmp_path: Path) -> None:
    preds = [{"instance_id": "a", "model_patch": "diff", "model_name_or_path": "m"}, {"instance_id": "b"}]
    jl = tmp_path / "p.jsonl"
    jl.write_text("\n".join(json.dumps(p) for p in preds))
    loaded = load_predictions(jl)
    assert loaded["a"].model_patch == "diff" and loaded["b"].model_patch is None
    keyed = tmp_path / "p.json"
    keyed.write_text(json.dumps({"a": {"model_patch": "diff", "model_name_or_path": "m"}}))
    assert load_predictions(keyed)["a"].model_name_or_path == "m"
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps(preds[0]) + "\n" + json.dumps(preds[0]) + "\n")
    with pytest.raises(DatasetError, match="two predictions"):
        load_predictions(dup)
    with pytest.raises(DatasetError, match="not found"):
        load_predictions(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model_patch": "x"}\n')
    with pytest.raises(DatasetError, match="instance_id"):
        load_predictions(bad)


def test_hub_name_without_datasets_or_offline_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DatasetError, match=r"needs `datasets`|cannot load Hugging Face dataset") as info:
        load_instances("princeton-nlp/SWE-bench_Lite:dev")
    assert "pass a" in str(info.value) and "\n" not in str(info.value)
