"""MLproject entry point `register`: `register.py name=value ...` -> best run's model @champion."""

import sys

from emotion.cli import main

if __name__ == "__main__":
    sys.exit(main(["register", *sys.argv[1:]]))
