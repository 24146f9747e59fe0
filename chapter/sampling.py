"""Background measurements of a server while a test drives it."""
from __future__ import annotations

import json
import os
import pathlib
import threading
import time

from chapter import procfs

# Sanitized builds (the asan preset) carry megabytes of shadow memory: there, memory limits
# apply to growth over the server's own baseline rather than to its absolute size.
SANITIZED = os.environ.get("TEST_SANITIZED") == "1"


class RssSampler:
    """Samples the resident memory of a server and its children every `interval` seconds, in a
    background thread, until the `with` block ends. `peak` is the largest sample."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, procfs.tree_rss_bytes(self.pid))
                self.samples += 1
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def record_figure(config, test: str, **figures) -> None:
    """Keeps a measured figure for docs/robustness.md: one JSON line per figure in
    <build-dir>/test-figures.jsonl. Measurements, not assertions: the tests assert separately."""
    if config.getoption("command_json") or config.getoption("connect"):
        return  # scripts/check testing anyone's program: its figures are not ours to keep
    path = pathlib.Path(config.getoption("build_dir")) / "test-figures.jsonl"
    with open(path, "a") as f:
        f.write(json.dumps({"test": test, "time": time.time(), **figures}) + "\n")
