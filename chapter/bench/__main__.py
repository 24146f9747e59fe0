"""bench/run: `python3 -m chapter.bench --help` (chapter/bench/cli.py)."""
import sys

from chapter.bench.cli import main

sys.exit(main(sys.argv[1:]))
