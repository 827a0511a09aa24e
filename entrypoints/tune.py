"""MLproject entry point `tune`: `tune.py VARIANT name=value ...` -> an Optuna sweep, a child run per trial."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    sys.exit(main(["tune", *sys.argv[1:]]))
