"""scripts/check's pytest plugin: runs the suite's tests as the steps of support/rules.py, in
order, stops at the first failing rule (unless --all), prints a report a student can act on, and
writes JUnit XML and JSON for graders.

The tests are the suite's own (tests/protocol, tests/robustness); this plugin only orders them,
decides which run, and reports. scripts/check builds the pytest command line.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from chapter.rules import BY_NUMBER, RULES

PASS, FAIL, NOT_RUN, NOT_REACHED = "pass", "fail", "not run", "not reached"


def title(nodeid_name: str) -> str:
    """`test_40000_byte_line_is_split[x]` -> `40000 byte line is split [x]`."""
    name = re.sub(r"^test_", "", nodeid_name)
    base, _, param = name.partition("[")
    text = base.replace("_", " ")
    param = param.rstrip("]")
    # The target's id (command, connect) is the same for every test: leave it out.
    param = "-".join(p for p in param.split("-") if p not in ("command", "connect"))
    return f"{text} [{param}]" if param else text


@dataclasses.dataclass
class Result:
    rule: int
    name: str
    status: str = NOT_REACHED
    seconds: float = 0.0
    message: str = ""
    connection_lost: bool = False  # the test failed on a refused or reset connection


class Checker:
    def __init__(self, header: dict, run_all: bool, out=sys.stdout):
        self.header = header  # target, mode, seed, model, robust: written to JSON
        self.run_all = run_all
        self.out = out
        self.results: list[Result] = []
        self.by_item: dict[str, Result] = {}
        self.failed_rule: int | None = None
        self.current_rule: int | None = None
        self.last_not_run: str | None = None
        self.collect_errors: list[str] = []
        self.started = time.monotonic()

    def write(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    # pytest hooks -------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        # This plugin is the report: pytest's own terminal output goes (its options stay, which
        # assertion messages read).
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            config.pluginmanager.unregister(reporter)

    def pytest_collectreport(self, report):
        if report.failed:  # a test file that does not even import: the tester is broken
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext}")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        for item in items:
            marker = item.get_closest_marker("rule")
            if marker is None:
                raise pytest.UsageError(f"{item.nodeid} has no rule mark (support/rules.py)")
        items.sort(key=lambda item: item.get_closest_marker("rule").args[0])  # stable
        for item in items:
            result = Result(item.get_closest_marker("rule").args[0], title(item.name))
            self.results.append(result)
            self.by_item[item.nodeid] = result

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        result = self.by_item[item.nodeid]
        if result.rule != self.current_rule:
            self.current_rule = result.rule
            if self.failed_rule is None or self.run_all:
                self.write(f"\nrule {BY_NUMBER[result.rule].title}")
        if self.failed_rule is not None and not self.run_all:
            return True  # not reached: reported at the end
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        result = self.by_item[item.nodeid]
        result.seconds += call.duration
        if report.skipped:
            result.status = NOT_RUN
            reason = call.excinfo.value.msg if call.excinfo else str(report.longrepr)
            result.message = reason if reason.startswith("not run") else f"not run: {reason}"
        elif report.failed:
            result.status = FAIL
            text = failure_text(call.excinfo) if call.excinfo else str(report.longrepr)
            if call.when == "teardown" and result.message:
                if "the server died" in text and result.connection_lost:
                    # What the client saw (refused or reset) depends on when the server died;
                    # the death is the news, said first.
                    result.message = f"{text}\n(the client found the connection refused or reset)"
                else:
                    result.message += "\n" + text  # the server did not stop: say so too
            else:
                result.message = text
                result.connection_lost = bool(call.excinfo) and isinstance(
                    call.excinfo.value, (ConnectionError, TimeoutError))
        elif call.when == "call" and result.status == NOT_REACHED:
            result.status = PASS

    def pytest_runtest_logfinish(self, nodeid, location):
        result = self.by_item[nodeid]
        mark = {PASS: "pass", FAIL: "FAIL", NOT_RUN: "----"}[result.status]
        line = f"  {mark}  {result.name}"
        if result.status != NOT_RUN:
            line = f"{line:<76} {result.seconds:6.2f} s"
        self.write(line)
        if result.status == FAIL:
            for text_line in result.message.splitlines():
                self.write(f"        {text_line}")
            self.write(f"        {BY_NUMBER[result.rule].hint_line(result.message)}")
            if self.failed_rule is None:
                self.failed_rule = result.rule
        elif result.status == NOT_RUN and result.message != self.last_not_run:
            self.write(f"        {result.message}")  # said once for a run of the same reason
        self.last_not_run = result.message if result.status == NOT_RUN else None

    def pytest_sessionfinish(self, session, exitstatus):
        self.write()
        if self.collect_errors:
            self.write("the tests could not be collected:\n" + "\n".join(self.collect_errors))
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.write("INTERRUPTED: the run was stopped before its end; nothing is concluded")
            return
        self.write(self.summary())

    # reports --------------------------------------------------------------------------------------

    def results_of(self, number: int) -> list[Result]:
        return [r for r in self.results if r.rule == number]

    def rule_status(self, number: int) -> str:
        statuses = {r.status for r in self.results_of(number)}
        if FAIL in statuses:
            return FAIL
        if PASS in statuses:
            return PASS if statuses <= {PASS, NOT_RUN} else NOT_REACHED
        return NOT_RUN if statuses == {NOT_RUN} else NOT_REACHED

    def rules_present(self) -> list[int]:
        return [r.number for r in RULES if any(x.rule == r.number for x in self.results)]

    def failed(self) -> bool:
        return any(r.status == FAIL for r in self.results)

    def summary(self) -> str:
        counts = {s: sum(1 for r in self.results if r.status == s)
                  for s in (PASS, FAIL, NOT_RUN, NOT_REACHED)}
        lines = []
        present = self.rules_present()
        unreached = [BY_NUMBER[n].title for n in present if self.rule_status(n) == NOT_REACHED]
        if unreached:
            lines.append(f"not reached: rule {', '.join(unreached)} "
                         "(the run stops at the first failing rule; --all runs every rule)")
        untested = [r for r in RULES if r.number not in present]
        if untested:
            how = {8: "--robust adds them", 11: "--model NAME adds them"}
            lines.append("no test in this run for rule " + ", ".join(
                f"{r.title}" + (f" ({how[r.number]})" if r.number in how else "")
                for r in untested))
        if counts[NOT_RUN]:
            lines.append(f"not run: {counts[NOT_RUN]} tests, each with its reason above")
        verdict = "FAILED" if counts[FAIL] else "PASSED"
        passed_rules = [str(n) for n in present if self.rule_status(n) == PASS]
        lines.append(f"{verdict}: {counts[PASS]} passed, {counts[FAIL]} failed, "
                     f"{counts[NOT_RUN]} not run, {counts[NOT_REACHED]} not reached; "
                     f"rules passed: {', '.join(passed_rules) or 'none'}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            **self.header,
            "passed": not self.failed(),
            "seconds": round(time.monotonic() - self.started, 3),
            "totals": {status: sum(1 for r in self.results if r.status == status)
                       for status in (PASS, FAIL, NOT_RUN, NOT_REACHED)},
            "rules": [{
                "number": n,
                "rule": BY_NUMBER[n].title,
                "status": self.rule_status(n),
                "tests": [{"name": r.name, "status": r.status, "seconds": round(r.seconds, 3),
                           **({"message": r.message} if r.message else {}),
                           **({"hint": BY_NUMBER[n].hint_for(r.message)}
                              if r.status == FAIL else {})}
                          for r in self.results_of(n)],
            } for n in self.rules_present()],
        }

    def never_started(self, message: str) -> tuple[dict, ET.ElementTree]:
        """The JSON and JUnit reports of a run whose program never listened (exit status 2):
        graders get a file for every submission."""
        error_text = headline(message)
        report = {**self.header, "passed": False, "error": error_text,
                  "message": message, "rules": []}
        suites = ET.Element("testsuites", name="scripts/check", tests="1", failures="0",
                            errors="1")
        suite = ET.SubElement(suites, "testsuite", name="start", tests="1", failures="0",
                              errors="1")
        case = ET.SubElement(suite, "testcase", classname="start",
                             name="the program starts and listens on its port")
        error = ET.SubElement(case, "error", message=error_text)
        error.text = message
        ET.indent(suites)
        return report, ET.ElementTree(suites)

    def junit(self) -> ET.ElementTree:
        """One <testsuite> per rule, one <testcase> per test; a test not run or not reached is
        <skipped> with its reason, a failure carries the whole report."""
        suites = ET.Element("testsuites", name="scripts/check",
                            tests=str(len(self.results)),
                            failures=str(sum(r.status == FAIL for r in self.results)),
                            time=f"{time.monotonic() - self.started:.3f}")
        for n in self.rules_present():
            results = self.results_of(n)
            suite = ET.SubElement(suites, "testsuite", name=f"rule {BY_NUMBER[n].title}",
                                  tests=str(len(results)),
                                  failures=str(sum(r.status == FAIL for r in results)),
                                  skipped=str(sum(r.status in (NOT_RUN, NOT_REACHED)
                                                  for r in results)),
                                  time=f"{sum(r.seconds for r in results):.3f}")
            for r in results:
                case = ET.SubElement(suite, "testcase", classname=f"rule {BY_NUMBER[n].title}",
                                     name=r.name, time=f"{r.seconds:.3f}")
                if r.status == FAIL:
                    failure = ET.SubElement(case, "failure",
                                            message=r.message.splitlines()[0] if r.message else "")
                    failure.text = f"{r.message}\n{BY_NUMBER[n].hint_line(r.message)}"
                elif r.status == NOT_RUN:
                    ET.SubElement(case, "skipped", message=r.message)
                elif r.status == NOT_REACHED:
                    ET.SubElement(case, "skipped", message="not reached: an earlier rule failed")
        ET.indent(suites)
        return ET.ElementTree(suites)


def headline(problem: str) -> str:
    """What went wrong before any test, in a few words: the report's first line, the JSON's
    error and the JUnit error's message."""
    return ("the program could not be started" if problem.startswith("cannot start")
            else "the program never started listening")


def failure_text(excinfo) -> str:
    """The failure as the test said it: the exception's own message (a Mismatch is the whole
    sent/expected/received report), pytest's explanation for a bare assert, without traceback."""
    error = excinfo.value
    text = str(error).strip()
    if not isinstance(error, AssertionError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
        if isinstance(error, (ConnectionResetError, BrokenPipeError)):
            text += " (the server reset the connection: did it crash?)"
        elif isinstance(error, TimeoutError):
            text += " (the server stopped answering)"
    # `assert x, message`: pytest appends its own `assert ...` lines; the message says what went
    # wrong in words, so keep it alone. A bare `assert x` keeps pytest's explanation.
    lines = text.splitlines()
    if lines and not lines[0].startswith("assert "):
        while len(lines) > 1 and re.match(r"^\s*(assert |\+|where |and |or )", lines[-1]):
            lines.pop()
    return "\n".join(lines)
