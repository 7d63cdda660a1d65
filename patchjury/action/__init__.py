"""The GitHub Action (action.yml runs `python -m patchjury.action`).

settings (inputs from environment variables) -> trigger (which event, which issue, who may ask) -> run
(`patchjury solve` in a token-free subprocess) -> publish (a `patchjury/<slug>` branch and a draft PR, or a
comment). Kept light: nothing here imports the agent, the jury or the environments; solve runs in its own
process.
"""
