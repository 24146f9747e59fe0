#!/usr/bin/python3
"""Broken on purpose: no handler for SIGTERM, which then kills the process instead of stopping
it cleanly with exit status 0 (fails rule 10)."""
import signal

from rot13_server import main

if __name__ == "__main__":
    raise SystemExit(main(stop_signals=(signal.SIGINT,)))  # the bug: SIGTERM left out
