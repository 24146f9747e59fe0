"""The registry of stages: one description per stage, `NN-name/stage.json`, read by everything.

A stage is a directory at the repository's top whose name starts with its key (two digits, and
a letter for a variant: 02b) and that holds a `stage.json`. The description says what the rest
of the repository needs to know about the stage, so that no script, test or build file keeps a
list of stages of its own (docs/adding-a-stage.md says what a new stage needs):

    key         "02c", the start of the directory's name
    title       {"en": ..., "zh-CN": ...}: what the stage is, in a few words
    kind        "server" (speaks docs/protocol.md) or "client"
    model       a server's IO model: the lessons it is held to (scripts/check --model)
    bonus       true for a stage the chapter does not have (02b, 02c, 07, 08): the guides say so
    diff_from   the earlier stages it is diffed with (scripts/stage-diff, docs/diffs/)
    platforms   ["linux"] where it needs Linux's own API; absent: any POSIX system
    needs       the libraries it links: "libevent", "liburing" (CMake builds it only with them)
    backends    libevent's backends it runs on, the default first; each is tested
    pool        its worker-pool option: {"option", "default", "max"}
    suite       what the protocol suite gives it: {"threads": N} fills its pool option
    trace       what scripts/trace needs: {"args": [...], "lesson": {fact: value}}
    bench       what bench/run and its report need (chapter/bench/lineup.py reads it): label,
                color, marker; reference_for (the workloads whose ratios are stated against
                it) and as_reference (how the report names it then); holds (its model, in
                the models table) and limit (what stops it holding more); also (workloads it
                takes part in beyond every stage's); backends (rows for another backend, with
                only, about); targets (what it sets out to show: chapter/bench/targets.py)
    guide       what tests/docs/test_guides.py needs to know of its guides: the figures they
                measure themselves (`measures`), the functions they name that no code of ours
                calls, each with why (`names_not_in_code`)
    lacks       {piece: why} for each piece it does not have ("trace", "bench", "protocol",
                "valgrind", "tour"): a missing piece is said, never silent

Beside `stage.json` and `main.cpp` (and the guides) a stage's directory holds its own pieces:
`tour.py` (its step of scripts/tour, narration included), and its lesson and errata tests
(`test_*.py`), which the protocol suite collects with the shared tests.

Run as a module it prints the stages for CMake (tests/CMakeLists.txt):
    python3 -m chapter.stages              # every server as tested: "05-poll 05-libevent-events"
    python3 -m chapter.stages --soak       # each server program once (its default backend)
    python3 -m chapter.stages --clients    # the clients: "01 01-blocking-client"
    python3 -m chapter.stages --test-dirs  # the servers' directories with tests of their own
    python3 -m chapter.stages --pools      # the ids of the servers with a pool of threads
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
STAGE_DIR = re.compile(r"(\d\d[a-z]?)-[a-z0-9-]+")
KINDS = ("server", "client")
PIECES = ("trace", "bench", "protocol", "valgrind", "tour")

# How libevent's own tests pick a backend: each EVENT_NO* variable rules one out.
BACKEND_ENV = {
    "epoll": (),
    "poll": (("EVENT_NOEPOLL", "1"),),
    "select": (("EVENT_NOEPOLL", "1"), ("EVENT_NOPOLL", "1")),
}

# The suite keeps up to 200 clients connected at once; a pool smaller than that leaves the extra
# clients unanswered, which is a pool's lesson, not a protocol failure. So the suite gives a
# pool (ours: suite.threads in its description; anyone's: scripts/check's {threads}) more.
SUITE_POOL = 256


@dataclasses.dataclass(frozen=True)
class Description:
    """One stage directory's stage.json, checked."""
    directory: str  # "02c-thread-pool-server": the program's name too
    key: str
    title: dict
    kind: str
    model: str = ""
    bonus: bool = False
    diff_from: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    pool: dict | None = None
    suite: dict = dataclasses.field(default_factory=dict)
    trace: dict | None = None
    bench: dict | None = None
    guide: dict = dataclasses.field(default_factory=dict)
    lacks: dict = dataclasses.field(default_factory=dict)

    @property
    def path(self) -> pathlib.Path:
        return REPO / self.directory

    @property
    def is_server(self) -> bool:
        return self.kind == "server"

    def has(self, piece: str) -> bool:
        """Whether the stage has `piece` (one of PIECES): it does unless `lacks` says why not."""
        return piece not in self.lacks

    def builds_here(self) -> bool:
        """Whether its platform is this one (its libraries aside: CMake decides those)."""
        return not self.platforms or any(sys.platform.startswith(p) for p in self.platforms)


def _load(path: pathlib.Path) -> Description:
    """Reads and checks one stage.json; ValueError saying what is wrong and where."""
    directory = path.parent.name
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON: {e}") from None
    fields = {f.name for f in dataclasses.fields(Description)} - {"directory"}
    unknown = set(data) - fields
    problems = [f"unknown field(s) {sorted(unknown)}"] if unknown else []
    match = STAGE_DIR.fullmatch(directory)
    if not match or data.get("key") != match.group(1):
        problems.append(f"key {data.get('key')!r} is not the start of the directory's name")
    if data.get("kind") not in KINDS:
        problems.append(f"kind must be one of {KINDS}")
    if data.get("kind") == "server" and not data.get("model"):
        problems.append("a server needs a model")
    if not {"en", "zh-CN"} <= set(data.get("title", {})):
        problems.append("title needs en and zh-CN")
    if set(data.get("lacks", {})) - set(PIECES):
        problems.append(f"lacks names pieces other than {PIECES}")
    for piece in ("trace", "bench"):
        if (piece in data) == (piece in data.get("lacks", {})) and data.get("kind") == "server":
            problems.append(f"give {piece!r}, or say in 'lacks' why there is none")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    tuples = {k: tuple(v) for k, v in data.items()
              if k in ("diff_from", "platforms", "needs", "backends")}
    return Description(directory=directory, **{**data, **tuples})


@functools.cache
def descriptions(root: pathlib.Path = REPO) -> tuple[Description, ...]:
    """Every stage under `root`, in the chapter's order (01, 02, 02b, 02c, 03, ...)."""
    found = [_load(p) for p in sorted(root.glob("*/stage.json"))]
    keys = [d.key for d in found]
    claimed: dict[str, str] = {}
    for d in found:
        for workload in (d.bench or {}).get("reference_for", ()):
            if workload in claimed:
                raise ValueError(f"{d.path}/stage.json: {claimed[workload]} is already the "
                                 f"reference of {workload}")
            claimed[workload] = d.key
        for other in d.diff_from:
            if other not in keys or keys.index(other) >= keys.index(d.key):
                raise ValueError(f"{d.path}/stage.json: diff_from names {other!r}, which is not "
                                 "an earlier stage")
    return tuple(sorted(found, key=lambda d: d.key))


def find(key: str) -> Description:
    """The stage whose key or directory is `key`; ValueError naming the stages if none."""
    for d in descriptions():
        if key in (d.key, d.directory):
            return d
    raise ValueError(f"no stage {key!r}; stages: {', '.join(d.key for d in descriptions())}")


def servers() -> list[Description]:
    return [d for d in descriptions() if d.is_server]


def models() -> dict[str, list[str]]:
    """Each IO model (scripts/check --model), and the keys of the stages that teach it."""
    found: dict[str, list[str]] = {}
    for d in servers():
        found.setdefault(d.model, []).append(d.key)
    return found


def reference(workload: str) -> Description:
    """The stage the benchmark states `workload`'s ratios against (bench.reference_for)."""
    for d in servers():
        if workload in ((d.bench or {}).get("reference_for") or ()):
            return d
    raise ValueError(f"no stage is the reference of {workload}")


@dataclasses.dataclass(frozen=True)
class Stage:
    """One server as the tests run it: a stage, on one of libevent's backends if it has them."""
    description: Description
    backend: str = ""  # for a libevent stage: which backend the environment selects

    @property
    def program(self) -> str:
        return self.description.directory

    @property
    def number(self) -> str:
        """The stage's key: "02", "02b", "05"."""
        return self.description.key

    @property
    def id(self) -> str:
        """Short name used in test ids and by --stage: "02", "05-poll"."""
        return self.number + (f"-{self.backend}" if self.backend else "")

    @property
    def env(self) -> tuple[tuple[str, str], ...]:
        """Extra environment for the server: the backend's choice."""
        return BACKEND_ENV[self.backend] if self.backend else ()

    @property
    def threads(self) -> int | None:
        """The pool size the suite gives it, for a stage with a pool."""
        return self.description.suite.get("threads") if self.description.pool else None

    @property
    def pool_option(self) -> str | None:
        return self.description.pool["option"] if self.description.pool else None

    @property
    def model(self) -> str:
        """The IO model whose lessons it is held to. libevent on its select backend is held to
        select()'s lessons: its limit is FD_SETSIZE (common::can_watch)."""
        return "select" if self.backend == "select" else self.description.model

    @property
    def on_default_backend(self) -> bool:
        """Not a libevent stage, or libevent on its default backend (the first listed)."""
        return not self.backend or self.backend == self.description.backends[0]

    def __str__(self) -> str:
        return self.id


def server_stages() -> list[Stage]:
    """Every server as the tests run it: once, or once per libevent backend; the stages whose
    platform this is not are left out."""
    found = []
    for d in servers():
        if d.builds_here():
            found += [Stage(d, b) for b in d.backends] if d.backends else [Stage(d)]
    return found


def soak_stages() -> list[Stage]:
    """Each program once, libevent ones on their default backend: the soak's, the tracer's and
    the other tests that one run per program covers (another backend's run is the same code of
    ours)."""
    return [s for s in server_stages() if s.on_default_backend]


def select(patterns: list[str]) -> list[Stage]:
    """The stages whose id or program starts with one of `patterns` (all if none given)."""
    stages = server_stages()
    if not patterns:
        return stages
    chosen = [s for s in stages
              if any(s.id == p or s.id.startswith(p + "-") or s.program == p
                     or s.program.startswith(p + "-") for p in patterns)]
    if not chosen:
        raise ValueError(f"no stage matches {patterns}; stages: {[s.id for s in stages]}")
    return chosen


def test_directories() -> list[pathlib.Path]:
    """The server stages' directories that hold tests of their own (test_*.py: lessons and
    errata): the protocol suite collects them beside tests/protocol. (A client's tests are its
    own, run apart.)"""
    return [d.path for d in servers() if any(d.path.glob("test_*.py"))]


def owner_of(path: str | os.PathLike) -> Description | None:
    """The stage whose directory holds `path`, if any."""
    resolved = pathlib.Path(path).resolve()
    for d in descriptions():
        if resolved.is_relative_to(d.path):
            return d
    return None


# ------------------------------------------------------------------------------------------
# Builds

def default_build_dir() -> pathlib.Path:
    """$BUILD_DIR, else build/: the student's build, which scripts/tour makes (the release
    preset) and every guide uses."""
    return pathlib.Path(os.environ.get("BUILD_DIR") or REPO / "build")


def bin_dir(build_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The build's bin/, where the stages' programs are; FileNotFoundError, saying how to build,
    when there is none."""
    path = pathlib.Path(build_dir or default_build_dir()).resolve() / "bin"
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist: build first (scripts/tour builds "
                                "build/; or cmake --preset release && cmake --build --preset "
                                "release), or name another build with --build-dir")
    return path


def main(argv: list[str]) -> int:
    if argv == ["--clients"]:
        lines = [f"{d.key} {d.directory}" for d in descriptions()
                 if d.kind == "client" and d.builds_here()]
    elif argv == ["--test-dirs"]:
        lines = [str(p) for p in test_directories()]
    elif argv == ["--pools"]:
        lines = [s.id for s in server_stages() if s.description.pool]
    elif argv in ([], ["--soak"]):
        lines = [f"{s.id} {s.program}" for s in (soak_stages() if argv else server_stages())]
    else:
        print("usage: python3 -m chapter.stages [--soak | --clients | --test-dirs | --pools]",
              file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
