"""Checks a server against docs/protocol.md, rule by rule: yours, in any language, or ours.

    scripts/check -- python3 my_server.py --port {port}
    scripts/check --model select -- ./my_select_server --bind {host} --port {port}
    scripts/check --connect 127.0.0.1:9000          # a server you started yourself

The tester picks a free port, puts it where the command says {port} ({host} becomes 127.0.0.1,
{threads} a pool size: --threads, or what a lesson chooses), starts the program, waits until
the port listens, runs the protocol suite against it rule by rule, and stops it with SIGTERM. The run stops at the
first failing rule; --all runs them all. Each failure shows the bytes sent, expected and
received, a marker under the first wrong byte, and a hint naming the rule. Payloads are random
from a printed seed: --seed N repeats a run.

Exit status: 0 when every rule it ran passed, 1 when one failed, 2 for a usage error or a
program that could not be started or never started listening, 130 when interrupted (Ctrl-C or SIGTERM: every program it
started is stopped). Needs Debian's Python and pytest (scripts/install-deps),
and nothing built. docs/write-your-own.md is the guide.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import signal
import socket
import sys

try:
    import pytest
except ImportError:
    sys.exit("scripts/check: needs pytest: run scripts/install-deps (Debian's python3-pytest), "
             "and run this script with /usr/bin/python3")

from chapter import payloads, stages  # noqa: E402
from chapter.checker import Checker, headline  # noqa: E402
from chapter.rules import MODELS, RULES  # noqa: E402
from chapter.server import NeverListened, interrupt, kill_all  # noqa: E402
from chapter.target import Command, parse_address  # noqa: E402

REPO = stages.REPO
TESTS = REPO / "tests"

USAGE_ERROR, NEVER_LISTENED = 2, 2
INTERRUPTED = 130  # the shell's status for a run ended by a signal (128 + SIGINT)


def parse(argv: list[str]) -> argparse.Namespace:
    command = []
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1:]
    parser = argparse.ArgumentParser(
        prog="scripts/check", formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="scripts/check [options] -- COMMAND WITH {port} ...\n"
              "       scripts/check [options] --connect HOST:PORT",
        description="Checks a server against docs/protocol.md, rule by rule.",
        epilog="rules, in order:\n" + "\n".join(f"  {r.title}" for r in RULES) +
               "\n\nmodels (--model), and the stage whose lessons each adds:\n" +
               "\n".join(f"  {m:<11} {s}" for m, s in MODELS.items()) +
               "\n\nexit status: 0 every rule run passed, 1 a rule failed, 2 usage error or "
               "the program never listened, 130 interrupted")
    parser.add_argument("--connect", metavar="HOST:PORT",
                        help="test a server already running there (tests that must restart "
                             "it or read its process say they were not run)")
    parser.add_argument("--all", action="store_true",
                        help="run every rule, not stopping at the first that fails")
    parser.add_argument("--seed", type=int, help="seed of the random payloads (default: new, "
                                                 "printed; the same seed repeats a run)")
    parser.add_argument("--model", choices=list(MODELS),
                        help="add the lessons of this IO model (rule 11)")
    parser.add_argument("--robust", action="store_true",
                        help="add the robustness tests: the flood, the resets, slow clients, "
                             "descriptor exhaustion, random streams")
    parser.add_argument("--threads", type=int, default=stages.SUITE_POOL, metavar="N",
                        help=f"what {{threads}} becomes (default {stages.SUITE_POOL}: the "
                             "suite keeps up to 200 clients connected at once; a pool lesson "
                             "sets its own)")
    parser.add_argument("--junit", metavar="FILE", help="write the results as JUnit XML")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = parser.parse_args(argv)
    args.options, args.command = argv, command  # the options, for the line that repeats a run
    if bool(args.command) == bool(args.connect):
        parser.error("give a command after -- (with {port} in it), or --connect HOST:PORT")
    if args.command:
        try:
            args.target = Command(args.command, threads=args.threads)
        except ValueError as e:
            parser.error(str(e))
    if args.connect:
        try:
            args.connect_address = parse_address(args.connect)
        except ValueError as e:
            parser.error(str(e))
    return args


def preflight(args) -> str | None:
    """Whether the program listens at all; a message (and exit status 2) when it does not."""
    if args.connect:
        try:
            socket.create_connection(args.connect_address, timeout=3).close()
        except OSError as e:
            return f"nothing accepts connections at {args.connect}: {e.strerror or e}"
        return None
    try:
        server = args.target.start()
    except NeverListened as e:
        return str(e)
    try:
        server.stop(timeout=2)
    except AssertionError:
        pass  # it does not stop on SIGTERM: rule 10 says so later; close() kills it
    server.close()
    return None


def main(argv: list[str]) -> int:
    args = parse(argv)
    seed = args.seed if args.seed is not None else payloads.new_seed()
    target = shlex.join(args.command) if args.command else args.connect
    repeat = shlex.join(["scripts/check", *args.options])
    if args.seed is None:
        repeat += f" --seed {seed}"
    if args.command:
        repeat += " -- " + target
    print(f"checking {target}")
    print(f"payload seed {seed}: `{repeat}` repeats this run")
    checker = Checker({"target": target, "mode": "command" if args.command else "connect",
                       "seed": seed, "model": args.model, "robust": args.robust},
                      run_all=args.all)
    if problem := preflight(args):
        print(f"\n{headline(problem)}:\n{problem}")
        report, junit = checker.never_started(problem)
        write_reports(args, report, junit)
        return NEVER_LISTENED

    # The test paths first, then the options: the suite's own options are the plugin's, loaded
    # by name here, whatever the directory the tester runs from.
    paths = [str(TESTS / "protocol"), *map(str, stages.test_directories()),
             *([str(TESTS / "robustness")] if args.robust else [])]
    options = ["-p", "no:cacheprovider", "-c", str(REPO / "pytest.ini"), "--rootdir", str(REPO),
               "-o", "addopts=--import-mode=importlib", "-p", "chapter.pytest_plugin",
               "--seed", str(seed), "-m", "not soak and not valgrind"]
    if args.command:
        options += ["--command-json", json.dumps(args.command), "--threads", str(args.threads)]
    else:
        options += ["--connect", args.connect]
    if args.model:
        options += ["--model", args.model]
    try:
        status = pytest.main([*paths, *options], plugins=[checker])
    finally:
        kill_all()  # after Ctrl-C or SIGTERM too: no program under test is left running
    if checker.collect_errors:  # pytest calls that "interrupted" too
        print("scripts/check: the test run itself failed", file=sys.stderr)
        return USAGE_ERROR
    if status == pytest.ExitCode.INTERRUPTED:
        return INTERRUPTED
    if status in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
                  pytest.ExitCode.NO_TESTS_COLLECTED):
        print(f"scripts/check: the test run itself failed ({status.name})", file=sys.stderr)
        return USAGE_ERROR
    write_reports(args, checker.as_json(), checker.junit())
    return 1 if checker.failed() else 0


def write_reports(args, report: dict, junit) -> None:
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.junit:
        junit.write(args.junit, encoding="unicode", xml_declaration=True)


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except KeyboardInterrupt:  # before or after pytest's run, which handles its own
        kill_all()
        print("\nINTERRUPTED: the run was stopped before its end; nothing is concluded")
        return INTERRUPTED


if __name__ == "__main__":
    # SIGTERM (from `timeout`, a grader's kill) ends the run as Ctrl-C does: pytest stops, and
    # every program the tester started is stopped too.
    for signo in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signo, interrupt)
    sys.exit(run(sys.argv[1:]))
