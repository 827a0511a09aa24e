"""MLproject entry point `features`: `features.py OUTPUT name=value ...` -> a pre-extracted feature folder."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    sys.exit(main(["features", *sys.argv[1:]]))
