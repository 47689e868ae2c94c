"""``python -m soberpay``: the command line (``serve --workers N`` starts ``rooms`` this way)."""

from soberpay.cli import main

if __name__ == "__main__":  # importing the module (e.g. to list its names) must not run the CLI
    main()
