"""`submit`: end the trajectory with the patch (reproduction tests excluded) and the tests."""

from __future__ import annotations

import re
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation
from patchjury.tools.repro import list_tests, recover_changes, reproduced_on_original

DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)


class SubmitTool(BaseTool):
    name = "submit"
    description = (
        "Submit your changes and end the task. The patch is the diff of the repository against the original "
        "code, without the reproduction tests (those are submitted alongside). Refused when nothing changed. "
        "Remove scratch files you do not want in the patch before submitting."
    )
    schema = {"type": "object", "properties": {}, "additionalProperties": False}

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        recover_changes(env, self.config)
        tests = list_tests(env, self.config)
        if self.config.require_test_to_submit and not tests:
            raise ToolArgumentError(
                "no reproduction test was written: write one with write_test and run it with run_test first"
            )
        patch = env.diff(exclude=[t.path for t in tests])
        if not patch.strip():
            raise ToolArgumentError(
                "nothing to submit: the code is unchanged from the original (reproduction tests are not part of "
                "the patch). Fix the issue with edit, then submit"
            )
        files = sorted({m.group(2) for m in DIFF_FILE.finditer(patch)})
        reproduced = reproduced_on_original(env, self.config)
        word = {True: "yes", False: "no", None: "not checked"}[reproduced]
        text = (
            f"Submitted a patch changing {len(files)} file(s): {', '.join(files)}; "
            f"{len(tests)} reproduction test(s) ({', '.join(t.path for t in tests) or 'none'}); "
            f"reproduced on the original code: {word}."
        )
        return Observation(
            text=text,
            submitted=True,
            data={
                "patch": patch,
                "tests": [t.model_dump() for t in tests],
                "reproduced": reproduced,
                "files": files,
            },
        )


TOOL = SubmitTool()
