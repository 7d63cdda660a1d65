"""Process-wide state of envs is explicit: nothing at import, the run id made on first use (or named), and
SIGTERM handled only when the entry point asks from its main thread (the `patchjury` command does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import json, signal, threading
    import patchjury.cli, patchjury.envs.docker, patchjury.envs.images
    from patchjury.envs import cleanup, sweep

    out = {"run_id_at_import": sweep._run_id, "sigterm_at_import": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL}

    # an Env registered from the main thread, then one from a worker thread (as trajectories start theirs)
    cleanup.register("fake-checkout", lambda: None)
    worker = threading.Thread(target=lambda: cleanup.register("fake-container", lambda: None))
    worker.start()
    worker.join()
    out["sigterm_after_first_env"] = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    cleanup.unregister("fake-checkout")
    cleanup.unregister("fake-container")
    out["env_run_id"] = sweep.process_run_id()
    sweep.set_run_id("named-run")
    out["named"] = (sweep.process_run_id(), sweep.managed_labels("env")[sweep.LABEL_RUN])
    sweep.set_run_id(None)
    out["again"] = sweep.process_run_id()
    from_thread = []
    worker = threading.Thread(target=lambda: from_thread.append(cleanup.install_handlers()))
    worker.start()
    worker.join()
    out["install_from_thread"] = from_thread[0]
    out["install"] = (cleanup.install_handlers(), cleanup.install_handlers())
    out["handler"] = getattr(signal.getsignal(signal.SIGTERM), "__name__", "")
    print(json.dumps(out))
    """
)


def _run(code: str, env: dict[str, str] | None = None) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def test_nothing_happens_at_import_and_the_entry_point_installs_cleanup() -> None:
    out = _run(PROBE, {"PATCHJURY_RUN_ID": "from-env"})
    assert out["run_id_at_import"] is None and out["sigterm_at_import"] is True
    assert out["sigterm_after_first_env"] is True  # using the library never takes over SIGTERM
    assert out["env_run_id"] == "from-env" and out["named"] == ["named-run", "named-run"]
    assert out["again"] == "from-env"  # forgotten: made again on first use
    assert out["install_from_thread"] is False and out["install"] == [True, True]
    assert out["handler"] == "_on_sigterm"


def test_a_made_run_id_is_stable_and_the_program_keeps_its_own_sigterm_handler() -> None:
    code = textwrap.dedent(
        """
        import json, signal
        from patchjury.envs import cleanup, sweep
        first, second = sweep.process_run_id(), sweep.process_run_id()
        def mine(signum, frame):
            pass
        signal.signal(signal.SIGTERM, mine)
        print(json.dumps({"ids": [first, second], "install": cleanup.install_handlers(),
                          "handler": signal.getsignal(signal.SIGTERM).__name__}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PATCHJURY_RUN_ID"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["ids"][0] == out["ids"][1] and len(out["ids"][0]) > 16
    assert out["install"] is False and out["handler"] == "mine"


def test_the_patchjury_command_installs_sigterm_cleanup() -> None:
    code = textwrap.dedent(
        """
        import json, signal, sys
        from patchjury.cli import main
        sys.argv = ["patchjury", "version"]
        try:
            main()
        except SystemExit:
            pass
        print(json.dumps(getattr(signal.getsignal(signal.SIGTERM), "__name__", "")))
        """
    )
    assert json.loads(_last_line(code)) == "_on_sigterm"


def _last_line(code: str) -> str:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip().splitlines()[-1]
