"""``python -m app [INPUT] [--model FILE]``: the desktop app (same as ``ssapose app``)."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main(["app", *sys.argv[1:]]))
