"""MLproject entry point `evaluate`: `evaluate.py MODEL_URI DATA_DIR [--corpus C]` -> metrics on a labelled folder."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
