"""The one list of server stages. Every protocol, lesson and robustness test runs against each
entry; a new stage joins every test by being added here.

Run as a script it prints each stage's id and program, one stage per line (with --soak: those
the soak test runs): CMake reads them to register one CTest test per stage (protocol.02,
protocol.05-poll, ...), for the stages whose program this build has (tests/CMakeLists.txt).
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Stage:
    program: str  # the stage directory and program name, e.g. "04-select-server"
    backend: str = ""  # for libevent stages: which backend the environment selects
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the server
    args: tuple[str, ...] = ()  # extra command-line arguments for the server
    linux_only: bool = False  # built on Linux alone (CMakeLists.txt), and listed there alone
    threads: int | None = None  # the pool size the suite gives it (--threads), for a pool

    @property
    def model(self) -> str:
        """The IO model whose lessons it is held to (scripts/check --model, tests/support/rules.py).
        libevent on its select backend is held to select()'s lessons: its limit is FD_SETSIZE."""
        if self.backend == "select":
            return "select"
        return {"02": "fork", "02b": "thread", "02c": "pool", "03": "spin", "04": "select",
                "08": "completion"}.get(self.number, "event")

    @property
    def on_default_backend(self) -> bool:
        """Not a libevent stage, or libevent on its default backend on Linux (epoll)."""
        return self.backend in ("", "epoll")

    @property
    def number(self) -> str:
        """The stage's number as its directory starts: "02", "02b", "05"."""
        return self.program.split("-", 1)[0]

    @property
    def id(self) -> str:
        """Short name used in test ids and by --stage: "02", "05-poll"."""
        return self.number + (f"-{self.backend}" if self.backend else "")

    def __str__(self) -> str:
        return self.id


def libevent_backends(program: str) -> list[Stage]:
    """One entry per libevent backend on Linux, selected the way libevent's own tests do."""
    return [
        Stage(program, "epoll"),
        Stage(program, "poll", (("EVENT_NOEPOLL", "1"),)),
        Stage(program, "select", (("EVENT_NOEPOLL", "1"), ("EVENT_NOPOLL", "1"))),
    ]


# The suite keeps up to 200 clients connected at once; a pool smaller than that leaves the extra
# clients unanswered, which is 02c's lesson (tests/protocol/test_lessons.py), not a protocol
# failure. So the suite runs a pool (ours, or scripts/check's {threads}) larger than any crowd.
SUITE_POOL = 256

SERVER_STAGES: list[Stage] = [
    Stage("02-fork-server"),
    Stage("02b-thread-server"),
    Stage("02c-thread-pool-server", threads=SUITE_POOL),
    Stage("03-nonblocking-spin"),
    Stage("04-select-server"),
    *libevent_backends("05-libevent-events"),
    *libevent_backends("06-libevent-bufferevent"),
    Stage("07-epoll-server", linux_only=True),  # bonus: raw epoll, the benchmarks' reference
    Stage("08-io-uring-server", linux_only=True),  # bonus: completion IO with io_uring
]
SERVER_STAGES = [s for s in SERVER_STAGES if not s.linux_only or sys.platform.startswith("linux")]

CLIENT_STAGE = "01-blocking-client"


def soak_stages() -> list[Stage]:
    """The soak test's stages: each program once, libevent ones on their default backend (the
    other backends get every other test; a minute each of them again would double CI)."""
    return [s for s in SERVER_STAGES if s.on_default_backend]


def select(patterns: list[str]) -> list[Stage]:
    """The stages whose id or program starts with one of `patterns` (all if none given)."""
    if not patterns:
        return list(SERVER_STAGES)
    chosen = [s for s in SERVER_STAGES
              if any(s.id == p or s.id.startswith(p + "-") or s.program == p
                     or s.program.startswith(p + "-") for p in patterns)]
    if not chosen:
        raise ValueError(f"no stage matches {patterns}; stages: {[s.id for s in SERVER_STAGES]}")
    return chosen


def default_build_dir() -> str:
    """$BUILD_DIR, else the build the guides make (`cmake -S . -B build`), else the dev preset's
    (build/dev), whichever holds programs first."""
    if "BUILD_DIR" in os.environ:
        return os.environ["BUILD_DIR"]
    built = [d for d in (REPO / "build", REPO / "build" / "dev") if (d / "bin").is_dir()]
    return str(built[0] if built else REPO / "build")


def bin_dir(build_dir: str | pathlib.Path) -> pathlib.Path:
    """The build's bin/, where the stages' programs are; FileNotFoundError, saying how to build,
    when there is none."""
    path = pathlib.Path(build_dir).resolve() / "bin"
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist: build first (cmake -S . -B build && "
                                "cmake --build build), or name your build with --build-dir "
                                "(--build-dir=build/dev after cmake --preset dev)")
    return path


if __name__ == "__main__":
    chosen = soak_stages() if sys.argv[1:] == ["--soak"] else SERVER_STAGES
    print("\n".join(f"{s.id} {s.program}" for s in chosen))
    sys.exit(0)
