"""What people see of a run: the live progress view, `report.md` / `report.html`, `outcome.json` (the contract
with the GitHub Action) and the SWE-bench run summary. Imports no wiring (patchjury.core) and no CLI; the modules
the Action reads (outcome) import nothing heavy."""
