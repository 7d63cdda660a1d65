"""`python -m patchjury.cli ...`, the same as the `patchjury` console script."""

from patchjury.cli import main

main()
