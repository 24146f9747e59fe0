"""The pytest plugin every suite shares (loaded by the repository's conftest.py, and by
scripts/check): its command-line options, its markers, which build and which stages to test,
and the fixtures that start servers.

Markers, each registered here once:
    rule(N)              the step of scripts/check a test belongs to (chapter/rules.py)
    model(*names)        a lesson of these IO models only: it runs for a target of one of them
    stage_specific(...)  about some of our stages only (see pytest_collection_modifyitems)
    valgrind             runs the server under valgrind (not in sanitized builds)
    soak                 the long mixed-client run (tests/robustness/test_soak.py)
"""
from __future__ import annotations

import json
import pathlib
import random
import signal

import pytest

from chapter import client, payloads, stages
from chapter.rules import MODELS
from chapter.server import ServerProcess, exit_description
from chapter.target import Command, Connect, parse_address, stage_command

# Hypothesis profiles (choose with --hypothesis-profile). `ci`, the default: a fixed budget of
# examples from a fixed seed, so CI is bounded and a failure reproduces. `long`: many more,
# randomised. Every example talks to a real server, hence no deadline and a function-scoped
# fixture shared by the examples of one test (one server per stage, which is what we want).
# Hypothesis (Debian's python3-hypothesis) is needed only by tests/robustness/test_differential.py:
# scripts/check runs without it.
try:
    from hypothesis import HealthCheck, settings
except ImportError:
    settings = None
if settings is not None:
    _COMMON = dict(deadline=None, database=None, print_blob=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("ci", max_examples=80, derandomize=True, **_COMMON)
    settings.register_profile("long", max_examples=2000, **_COMMON)
    settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption("--build-dir", default=str(stages.default_build_dir()),
                     help="CMake build directory whose bin/ holds the stage programs "
                          "(default: $BUILD_DIR, else build/, the one scripts/tour makes)")
    parser.addoption("--stage", action="append", default=[],
                     help="run only these stages (of "
                          f"{', '.join(s.id for s in stages.server_stages())}: a key alone "
                          "names every backend); repeatable or comma-separated; default: all")
    parser.addoption("--soak-seconds", type=float, default=60.0,
                     help="length of the soak test per stage (default 60)")
    # scripts/check's: instead of our stages, one program given as a command, or one server
    # already running. scripts/check is the way to use them.
    parser.addoption("--command-json", default=None,
                     help="a JSON list: the command to test instead of our stages, with {port}")
    parser.addoption("--connect", default=None, metavar="HOST:PORT",
                     help="test the server already listening there instead of our stages")
    parser.addoption("--model", default=None, choices=sorted(MODELS),
                     help="with --command-json or --connect: the IO model whose lessons apply")
    parser.addoption("--threads", type=int, default=stages.SUITE_POOL,
                     help="with --command-json: what {threads} becomes unless a lesson sets it "
                          f"(default {stages.SUITE_POOL}: the suite keeps up to 200 clients at "
                          "once)")
    parser.addoption("--seed", type=int, default=None,
                     help="seed of the random payloads (default: a new one, printed)")


def pytest_ignore_collect(collection_path, config):
    """scripts/check needs only pytest: without Hypothesis it leaves out the one test that uses
    it (said in its report as a rule with fewer tests). Our own runs need it: there the import
    fails loudly."""
    if (collection_path.name == "test_differential.py" and settings is None
            and check_target(config) is not None):
        return True
    return None


def check_target(config):
    """The one target of a scripts/check run, or None when the suite runs our stages."""
    if not hasattr(config, "_check_target"):
        model = config.getoption("model")
        target = None
        if config.getoption("command_json"):
            target = Command(json.loads(config.getoption("command_json")), model=model,
                             threads=config.getoption("threads"))
        elif config.getoption("connect"):
            target = Connect(*parse_address(config.getoption("connect")), model=model)
        config._check_target = target
    return config._check_target


MARKERS = {
    "rule(number)": "the step of scripts/check the test belongs to (chapter/rules.py)",
    "model(*names)": "a lesson of these IO models only",
    "stage_specific(only, never, has, has_not, models, default_backend)":
        "about some of our stages only (chapter/pytest_plugin.py)",
    "valgrind": "runs the server under valgrind (not in sanitized builds)",
    "soak": "the long mixed-client run (tests/robustness/test_soak.py); CTest runs it apart",
}


def pytest_configure(config):
    for marker, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {meaning}")
    seed = config.getoption("seed")
    payloads.seed(seed if seed is not None else payloads.new_seed())


def pytest_report_header(config):
    return f"payload seed: {payloads.SEED} (--seed {payloads.SEED} repeats these payloads)"


def stage_patterns(config) -> list[str]:
    """The stages --stage names (it may be given several times, each a comma-separated list)."""
    return [p for opt in config.getoption("stage") for p in opt.split(",") if p]


def pytest_generate_tests(metafunc):
    if "target" in metafunc.fixturenames:
        single = check_target(metafunc.config)
        if single is not None:
            metafunc.parametrize("target", [single], ids=[single.id], indirect=True)
            return
        chosen = stages.select(stage_patterns(metafunc.config))
        metafunc.parametrize("target", chosen, ids=[s.id for s in chosen], indirect=True)


def stage_wanted(marker, stage: stages.Stage | None, item) -> bool:
    """Whether a test marked stage_specific(...) runs for `stage` (None: anyone's program, for
    which it never runs). With no arguments, in a stage's directory: that stage only. Else
    each argument narrows: only=[keys or ids], never=[keys or ids], has=PIECE or has_not=PIECE
    (a field of the description, such as "pool", or a piece it may lack, such as "valgrind"),
    models=[models], default_backend=True (each program once)."""
    if stage is None:
        return False
    d = stage.description
    kw = marker.kwargs
    if not kw and not marker.args:
        owner = stages.owner_of(item.path)
        return owner is not None and owner.key == stage.number

    def has(piece: str) -> bool:
        return d.has(piece) if piece in stages.PIECES else bool(getattr(d, piece))
    return all([
        kw.get("only") is None or stage.number in kw["only"] or stage.id in kw["only"],
        stage.number not in kw.get("never", ()) and stage.id not in kw.get("never", ()),
        "has" not in kw or has(kw["has"]),
        "has_not" not in kw or not has(kw["has_not"]),
        "models" not in kw or stage.model in kw["models"],
        not kw.get("default_backend") or stage.on_default_backend,
    ])


def pytest_collection_modifyitems(config, items):
    """A test marked stage_specific(...) is about some of our stages only (a bug of the book's
    version of that stage, or an option of ours): it runs for those and is deselected, not
    skipped, for the others and for any program scripts/check tests. A test marked
    model(...) is a lesson of those IO models: it runs for a target of one of them (our stage's
    own model, or scripts/check --model). A client stage's tests (01's) run only when their
    directory or file is named on the command line."""
    kept, deselected = [], []
    named = ([pathlib.Path(a.split("::")[0]).resolve() for a in config.args]
             if config.args_source == pytest.Config.ArgsSource.ARGS else [])  # not testpaths
    for item in items:
        param = getattr(item, "callspec", None) and item.callspec.params.get("target")
        wanted = True
        owner = stages.owner_of(item.path)
        if owner is not None and not owner.is_server:
            # A client's own tests run when they are named, not with the servers' suite.
            wanted = any(n == owner.path or n.is_relative_to(owner.path) for n in named)
        if param is not None:
            stage = param if isinstance(param, stages.Stage) else None
            if marker := item.get_closest_marker("stage_specific"):
                wanted = stage_wanted(marker, stage, item)
            if (models := item.get_closest_marker("model")) and param.model not in models.args:
                wanted = False
        (kept if wanted else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def bin_dir(request) -> pathlib.Path:
    try:
        return stages.bin_dir(request.config.getoption("build_dir"))
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


def program_path(bin_dir: pathlib.Path, program: str) -> pathlib.Path:
    path = bin_dir / program
    # A stage in the list that the build did not produce is a failure, never a skip.
    assert path.exists(), f"{path} was not built"
    return path


@pytest.fixture
def target(request):
    """What the test talks to (chapter/target.py): one of our stages as a command, or the
    command or server scripts/check was given."""
    if isinstance(request.param, stages.Stage):
        program_path(request.getfixturevalue("bin_dir"), request.param.program)
        return stage_command(request.param, request.getfixturevalue("bin_dir"))
    return request.param


@pytest.fixture
def stage(target):
    """The chapter.stages entry of an own stage; None for a program scripts/check tests (the
    tests that take it are stage_specific, so they do not run then)."""
    return target.stage


@pytest.fixture
def rng(request) -> random.Random:
    """Random payloads for this test, from the run's seed (printed at the top of the run) and
    the test's name: a run is repeated with --seed."""
    return payloads.rng_for(request.node.name)


@pytest.fixture
def start_server(target):
    """Factory: start_server(**options) -> a running server of the current target (options:
    bind, wrapper, threads, env; chapter/target.py). Every server it started must stop on
    SIGTERM with exit status 0 and no sanitizer report."""
    started: list = []

    def start(**options):
        server = target.start(**options)
        started.append(server)
        if isinstance(server, ServerProcess):  # an answer that does not come: say why, if seen
            client.STALL_OBSERVERS.append(server.stall_report)
        return server

    yield start
    for server in started:
        if isinstance(server, ServerProcess):
            client.STALL_OBSERVERS.remove(server.stall_report)
    problems = []
    for server in started:
        if not isinstance(server, ServerProcess):
            continue  # a server started by hand: not ours to stop
        try:
            if server.returncode is None:
                if not server.alive():
                    problems.append(f"the server died during the test "
                                    f"({exit_description(server.proc.returncode)}); the end of "
                                    f"its stderr:\n{server.stderr_tail()}")
                elif target.stage is None:
                    # Anyone's program: how it stops is step 10's test, not every test's. Stop
                    # it, and kill it (with its process group) if it does not stop within the
                    # protocol's second; once it has not, kill it at once from then on, so that
                    # a server deaf to SIGTERM costs the run one second, not one per test.
                    if getattr(target, "deaf_to_sigterm", False):
                        server.kill()
                    else:
                        try:
                            server.stop(signal.SIGTERM, timeout=1)
                        except AssertionError:
                            target.deaf_to_sigterm = True
                else:
                    server.stop(signal.SIGTERM)
                    if server.returncode != 0:
                        problems.append(f"{exit_description(server.returncode)} after SIGTERM "
                                        f"(docs/protocol.md: exit status 0)\n"
                                        f"{server.stderr_tail()}")
            if reports := server.reports():
                problems.append(f"sanitizer/valgrind report: {reports[:5]}\n"
                                f"{server.stderr()[-4000:]}")
        finally:
            server.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def server(start_server):
    """The current target, running on 127.0.0.1 on a port the tester picked."""
    return start_server()
