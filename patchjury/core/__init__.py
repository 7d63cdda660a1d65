"""The wiring shared by every front door: settings and config files, git plumbing, and the runs themselves
(pipeline.run_task for one task; solve for a local repository; swebench_run for SWE-bench instances; select's
per-task environments). Environments are planned in patchjury.envs.plan; what a run shows is patchjury.report."""
