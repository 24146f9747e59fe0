"""Fixtures shared by every pytest suite: which build to test, which stages, running servers."""
from __future__ import annotations

import os
import pathlib
import signal

import pytest
from hypothesis import HealthCheck, settings


import stages
from support.server import ServerProcess

REPO = pathlib.Path(__file__).resolve().parent.parent

# Hypothesis profiles (choose with --hypothesis-profile). `ci`, the default: a fixed budget of
# examples from a fixed seed, so CI is bounded and a failure reproduces. `long`: many more,
# randomised. Every example talks to a real server, hence no deadline and a function-scoped
# fixture shared by the examples of one test (one server per stage, which is what we want).
_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=80, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile("ci")


def default_build_dir() -> str:
    """$BUILD_DIR, else the build the guides make (`cmake -S . -B build`), else the dev preset's
    (build/dev), whichever holds programs first."""
    if "BUILD_DIR" in os.environ:
        return os.environ["BUILD_DIR"]
    built = [d for d in (REPO / "build", REPO / "build" / "dev") if (d / "bin").is_dir()]
    return str(built[0] if built else REPO / "build")


def pytest_addoption(parser):
    parser.addoption("--build-dir", default=default_build_dir(),
                     help="CMake build directory whose bin/ holds the stage programs "
                          "(default: $BUILD_DIR, else build/ or build/dev/, whichever is built)")
    parser.addoption("--stage", action="append", default=[],
                     help="run only these stages (02, 05, 05-poll, ...); repeatable or "
                          "comma-separated; default: every stage in tests/stages.py")
    parser.addoption("--soak-seconds", type=float, default=60.0,
                     help="length of the soak test per stage (default 60)")


def pytest_generate_tests(metafunc):
    if "stage" in metafunc.fixturenames:
        patterns = [p for opt in metafunc.config.getoption("stage") for p in opt.split(",") if p]
        chosen = stages.select(patterns)
        metafunc.parametrize("stage", chosen, ids=[s.id for s in chosen])


def pytest_collection_modifyitems(config, items):
    """A test marked stage_specific(only=[...]) or stage_specific(never=[...]) (stage numbers
    such as "04" or ids such as "05-select") is about some
    stages only (a lesson of the chapter, or a bug of the book's version of that stage): it runs
    for those and is deselected, not skipped, for the others."""
    kept, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("stage_specific")
        stage = getattr(item, "callspec", None) and item.callspec.params.get("stage")
        if marker and stage is not None:
            only = marker.kwargs.get("only")
            never = marker.kwargs.get("never", ())
            wanted = ((only is None or stage.number in only or stage.id in only)
                      and stage.number not in never and stage.id not in never)
            (kept if wanted else deselected).append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def bin_dir(request) -> pathlib.Path:
    path = pathlib.Path(request.config.getoption("build_dir")).resolve() / "bin"
    assert path.is_dir(), (f"{path} does not exist: build first (cmake -S . -B build && "
                           "cmake --build build), or name your build with --build-dir "
                           "(--build-dir=build/dev after cmake --preset dev)")
    return path


def program_path(bin_dir: pathlib.Path, program: str) -> pathlib.Path:
    path = bin_dir / program
    # A stage in the list that the build did not produce is a failure, never a skip.
    assert path.exists(), f"{path} was not built"
    return path


@pytest.fixture
def start_server(stage, bin_dir):
    """Factory: start_server(**options) -> ServerProcess for the current stage. Every server it
    started must stop on SIGTERM with exit status 0 and no sanitizer report."""
    started: list[ServerProcess] = []

    def start(**options) -> ServerProcess:
        env = dict(stage.env)
        env.update(options.pop("env", {}))
        options["extra_args"] = [*stage.args, *options.get("extra_args", [])]
        server = ServerProcess(program_path(bin_dir, stage.program), env=env, **options)
        started.append(server)
        return server

    yield start
    problems = []
    for server in started:
        try:
            if server.returncode is None:
                if not server.alive():
                    problems.append(f"{stage}: server died during the test "
                                    f"(status {server.proc.returncode}): {server.stderr()[-2000:]}")
                else:
                    server.stop(signal.SIGTERM)
                    if server.returncode != 0:
                        problems.append(f"{stage}: exit status {server.returncode} after SIGTERM")
            if reports := server.reports():
                problems.append(f"{stage}: sanitizer/valgrind report: {reports[:5]}\n"
                                f"{server.stderr()[-4000:]}")
        finally:
            server.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def server(start_server) -> ServerProcess:
    """The current stage, running on 127.0.0.1 with a port the kernel picked."""
    return start_server()
