"""Offline work on labeled pools: train and cross-validate the verifier (pointwise, ranking, nested CV), fit the
`learned` rule's weights, export judge fine-tuning data, audit features for system proxies, and replay saved
execution evidence for Best@K benchmarks.

Nothing here is imported by `patchjury select`, `solve` or `swebench run` (tests/selection/test_select_imports.py
checks it): the runtime jury (selection.pipeline, selection.verifier) only loads trained artifacts.
"""
