"""Running scripts/check as its users do, for the tests of the tester itself."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
CHECK = REPO / "scripts" / "check"
SERVERS = REPO / "tests" / "check" / "servers"


def check(*args: str, timeout: float = 600, env: dict[str, str] | None = None,
          cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess:
    """scripts/check ARGS, as a student runs it (the command, which runs Debian's Python with
    pytest), from the repository's top unless `cwd` says otherwise: its output and exit
    status."""
    return subprocess.run([str(CHECK), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)


def python_server(name: str) -> list[str]:
    """The command that starts tests/check/servers/NAME.py, as a student would type it."""
    return [sys.executable, f"tests/check/servers/{name}.py", "--bind", "{host}", "--port",
            "{port}"]


def normalized(output: str) -> str:
    """The output without what changes from run to run or machine to machine: durations,
    ports, this checkout's path and the interpreter's, and what of a Python traceback in a
    server's stderr depends on the Python version (line numbers, the ^^^ marks of 3.11)."""
    output = output.replace(sys.executable, "python3").replace(str(REPO), "REPO")
    output = re.sub(r"^ *\| *[\^~]+ *\n", "", output, flags=re.MULTILINE)
    output = re.sub(r'(\| +File "[^"]+", )line \d+', r"\1line N", output)
    output = re.sub(r" *\d+\.\d\d s$", "  N.NN s", output, flags=re.MULTILINE)
    output = re.sub(r"(127\.0\.0\.1|localhost|\[::1\]|::1):\d+", r"\1:PORT", output)
    output = re.sub(r"(port|ports) \d{4,5}\b", r"\1 PORT", output)
    return output
