"""``python -m soberpay``: the command line (``serve --workers N`` starts ``rooms`` this way)."""

from soberpay.cli import main

main()
