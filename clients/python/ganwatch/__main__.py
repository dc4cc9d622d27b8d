"""``python -m ganwatch sync ...``: the client's command line (see ganwatch/sync.py)."""

import sys

from .sync import main


def run(argv: list) -> int:
    if not argv or argv[0] != "sync":
        print("usage: python -m ganwatch sync [--spool DIR] [--server URL] [--token T] [RUN ...]", file=sys.stderr)
        return 2
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
