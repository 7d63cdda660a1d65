"""The agent's tools: one module per tool, each a class built with a `ToolsConfig`.

Entry points: `patchjury.tools.registry` (get_tools, openai_tool_schemas, run_tool), `patchjury.tools.repro` (reproduction-test
manifest: list_tests, reproduced_on_original), `patchjury.tools.repo_map` (repo_map_text, set_focus_text).
Tool state (undo history, test manifest) lives inside the Env, under `ToolsConfig.state_dir`.
"""
