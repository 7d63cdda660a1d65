"""SWE-bench instances, install recipes, instance images, log parsers and the grading harness.

Light to import: submodules load on first use (`from envs.swebench import load_instances`).
Gold fields (patch, test_patch, FAIL_TO_PASS, PASS_TO_PASS, eval_script) are read only by grading
(envs.swebench.grading, envs.swebench.runner); `SWEInstance.to_task()` is what agents get.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patchjury.envs.swebench.build import InstanceImage, prepare_instance_image
    from patchjury.envs.swebench.evaluate import EvalConfig, evaluate
    from patchjury.envs.swebench.instances import SWEInstance, load_instances, select_instances
    from patchjury.envs.swebench.predictions import Prediction, load_predictions
    from patchjury.envs.swebench.recipes import Recipe, get_recipe
    from patchjury.envs.swebench.repos import resolve_repo

_LAZY = {
    "SWEInstance": "patchjury.envs.swebench.instances",
    "load_instances": "patchjury.envs.swebench.instances",
    "select_instances": "patchjury.envs.swebench.instances",
    "Recipe": "patchjury.envs.swebench.recipes",
    "get_recipe": "patchjury.envs.swebench.recipes",
    "resolve_repo": "patchjury.envs.swebench.repos",
    "InstanceImage": "patchjury.envs.swebench.build",
    "prepare_instance_image": "patchjury.envs.swebench.build",
    "Prediction": "patchjury.envs.swebench.predictions",
    "load_predictions": "patchjury.envs.swebench.predictions",
    "EvalConfig": "patchjury.envs.swebench.evaluate",
    "evaluate": "patchjury.envs.swebench.evaluate",
}

__all__ = [
    "EvalConfig",
    "InstanceImage",
    "Prediction",
    "Recipe",
    "SWEInstance",
    "evaluate",
    "get_recipe",
    "load_instances",
    "load_predictions",
    "prepare_instance_image",
    "resolve_repo",
    "select_instances",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'patchjury.envs.swebench' has no attribute {name!r}")
