"""Scale out on a Ray cluster (optional extra `ray`): trajectories as Ray tasks on the nodes that have Docker.

Nothing here is imported unless a front door is given `--ray`, so a run without it never imports Ray.

    cluster = connect(RayConfig(address="auto"))          # clear errors before any work starts
    cands = run_trajectories_ray(task, spec, run_dir, agent_cfg, models, cluster=cluster)

The driver keeps the run directory, the checkpoints and the progress view; nodes receive the repository as a git
bundle through Ray's object store and build (or pull) the environment image themselves. See docs/scale.md.
"""
