"""MLproject entry point `cv`: `cv.py VARIANT name=value ...` -> k-fold cross-validation by speaker."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    sys.exit(main(["cv", *sys.argv[1:]]))
