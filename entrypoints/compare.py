"""MLproject entry point for `main` and `cnn_compare`: `compare.py NAME VARIANTS name=value ...`."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    name, variants, *assignments = sys.argv[1:]
    sys.exit(main(["compare", variants, *assignments, "--name", name]))
