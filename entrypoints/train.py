"""MLproject entry point for every training variant: `train.py VARIANT name=value ...` -> emotion.cli."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
