"""The guides' exercises, run as a student runs them: scripts/exercise.

    scripts/exercise 02c.1            # one exercise: its change, its commands, its promises
    scripts/exercise 02c              # every exercise of one stage
    scripts/exercise --all            # every exercise of every stage
    scripts/exercise 07.2 --answer    # also the answer that is code (docs/instructors.md's)
    scripts/exercise --list           # what there is

Each stage's exercises have a machine-readable form beside its guides, `exercises.toml`: for each
exercise, the change a student makes (`[[exercise.change]]`: replace, insert after, or delete an
exact text in a file), the commands the guide gives (`[[exercise.step]]`), and what the guide
promises they show: an exit status, texts (`shows`), numbers in a range where they depend on
timing (`numbers`). Where the exercise asks a question whose answer is code, `[[exercise.answer]]`
is that code, the change docs/instructors.md describes, with steps of its own.

Nothing touches the student's files. The commands run in a scratch copy of the repository,
`build/exercises/tree` (the tracked files and the new ones, as they are now), with a build of its
own made once, `tree/build` (the release preset, as scripts/tour makes `build/`): each exercise
starts from the repository as it is, rebuilt if that changed anything, applies its change, runs
its steps in order from the copy's top, exactly as the guide writes them, and the next exercise
copies back whatever it changed. Three substitutions keep runs apart on a shared machine: a server
the exercise starts (`server` steps) listens on a port the kernel picks, which replaces its
port as the guide writes it (40713, or 8000 for 01's Python server) in the commands that follow;
`$PID` becomes that server's process id; and `/tmp/` becomes a directory of the run's own.

A step is one of:
    run = "CMD"          a shell command, waited for (`seconds` at most; `stops = false`: it is
                         promised to be still running then, and is stopped);
    server = "CMD"       a server started in the background, ready once it prints its line
                         (`ready`, a regular expression whose group is the port: by default our
                         stages' `listening on HOST:PORT`); it listens on a port the kernel picks
                         (`--port 0` is added, or `port`, the port the command names, becomes 0),
                         and that port replaces `port` (default 40713) in the later commands
                         (a later server may take the port again); one that ends is reaped at
                         once, as a shell reaps its job, so that `ps -p $PID` then finds nothing;
    background = "CMD"   a client or strace left running, named by `name`, stopped by
                         `stop = "NAME"` (SIGINT, as Ctrl-C) which checks what it printed;
    sleep = SECONDS      a wait, where the guide says to hold something for a while;
    change = {...}       a further edit, where the guide has the student change the code again
                         between commands (a table with the fields of [[exercise.change]]).
Promises of a step: `status` (default 0; a list where the guide says that either may happen),
`shows` (texts that must be in its output; each is also quoted by the guide's exercise in both
languages, which tests/docs/test_exercises.py checks), `lacks` (texts it must not show, where the
guide says that something is gone or that nothing else comes), and `numbers` (`{pattern, min,
max, said}`: the first group of the regular expression, within [min, max]; `said`, where given,
is the guide's own wording of it, quoted in both guides).

Exit status: 0 if every exercise kept its promises, 1 if one did not, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib

from chapter import procfs, stages

READY = re.compile(rb"listening on \S+:(\d+)")
DEFAULT_SECONDS = 600.0


@dataclasses.dataclass
class Exercise:
    stage: stages.Description
    number: int
    title: str
    changes: list[dict]
    steps: list[dict]
    answer: list[dict]
    answer_steps: list[dict]

    @property
    def name(self) -> str:
        return f"{self.stage.key}.{self.number}"


def load(d: stages.Description) -> list[Exercise]:
    """The exercises of one stage, from its exercises.toml; [] if it has none."""
    path = d.path / "exercises.toml"
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text())
    found = []
    for number, e in enumerate(data.get("exercise", []), 1):
        answer = e.get("answer", {})
        found.append(Exercise(d, number, e["title"], e.get("change", []), e.get("step", []),
                              answer.get("change", []), answer.get("step", [])))
    return found


def every() -> list[Exercise]:
    return [e for d in stages.descriptions() for e in load(d)]


def pick(names: list[str]) -> list[Exercise]:
    """`02c.1` (one), `02c` (a stage's), or every exercise for no name; ValueError if none."""
    chosen = []
    for name in names:
        key, _, number = name.partition(".")
        found = [e for e in every() if e.stage.key == key and (not number or
                                                                str(e.number) == number)]
        if not found:
            raise ValueError(f"no exercise {name!r}; exercises: "
                             + ", ".join(e.name for e in every()))
        chosen += found
    return chosen or every()


# ------------------------------------------------------------------------------------------
# The scratch copy

def repository_files(root: pathlib.Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split()
    return [f for f in listed if (root / f).is_file()]


def sync(source: pathlib.Path, tree: pathlib.Path) -> int:
    """Makes `tree` hold the files of `source` as they are, copying only those that differ (so
    that an incremental build rebuilds only what an exercise changed); returns how many."""
    copied = 0
    for name in repository_files(source):
        src, dst = source / name, tree / name
        if dst.exists() and dst.read_bytes() == src.read_bytes():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)  # not copy2: a file put back must look newer than the
        shutil.copymode(src, dst)  # build of the changed one, or make would not rebuild it
        copied += 1
    return copied


def apply(tree: pathlib.Path, change: dict) -> None:
    """One change of an exercise: `replace` with `with`, `delete`, or `insert` after `after`;
    the text must be in the file exactly once (or the guide no longer matches the code)."""
    path = tree / change["file"]
    text = path.read_text()
    old = change.get("replace") or change.get("delete") or change.get("after")
    count = text.count(old)
    if count != 1:
        raise Failure(f"{change['file']}: the text the exercise changes is there {count} times, "
                      f"not once: {old!r}")
    if "replace" in change:
        text = text.replace(old, change["with"])
    elif "delete" in change:
        text = text.replace(old, "")
    else:
        text = text.replace(old, old + change["insert"])
    path.write_text(text)


# ------------------------------------------------------------------------------------------
# Running the steps

class Failure(Exception):
    """An exercise that did not keep a promise: the message says which, with what was printed."""


@dataclasses.dataclass
class Run:
    tree: pathlib.Path
    tmp: pathlib.Path
    ports: dict = dataclasses.field(default_factory=dict)  # as the guide writes it -> real
    pid: int | None = None
    servers: list = dataclasses.field(default_factory=list)
    background: dict = dataclasses.field(default_factory=dict)

    def expand(self, command: str) -> str:
        for written, real in self.ports.items():
            command = re.sub(rf"(?<!\d){written}(?!\d)", real, command)
        if self.pid:
            command = command.replace("$PID", str(self.pid))
        return command.replace("/tmp/", f"{self.tmp}/")

    def popen(self, command: str, **kw) -> subprocess.Popen:
        return subprocess.Popen(["bash", "-c", self.expand(command)], cwd=self.tree,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, **kw)

    def stop_all(self) -> None:
        for proc in [*self.servers, *self.background.values()]:
            if proc.poll() is None:
                with_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with_group(proc, signal.SIGKILL)
                    proc.wait()


def with_group(proc: subprocess.Popen, signo: int) -> None:
    try:
        os.killpg(proc.pid, signo)
    except ProcessLookupError:
        pass


def run_step(run: Run, step: dict, log) -> None:
    if "sleep" in step:
        time.sleep(step["sleep"])
        return
    if "change" in step:
        apply(run.tree, step["change"])
        log(f"  changed {step['change']['file']}")
        return
    if "server" in step:
        start_server(run, step, log)
        return
    if "background" in step:
        command = step["background"].rstrip(" &")  # the guide's `&`: run here as bash's own
        log(f"$ {run.expand(command)} &")            # process, which SIGINT to its group reaches
        run.background[step.get("name", "background")] = run.popen(command)
        time.sleep(step.get("settle", 1.0))
        return
    if "stop" in step:
        proc = run.background.pop(step["stop"])
        with_group(proc, signal.SIGINT)
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
        log(f"  (stopped {step['stop']} with SIGINT)")
        check(step, output, proc.returncode, log)
        return
    command = step["run"]
    log(f"$ {run.expand(command)}")
    proc = run.popen(command)
    seconds = step.get("seconds", DEFAULT_SECONDS)
    try:
        output = proc.communicate(timeout=seconds)[0]
        still_running = False
    except subprocess.TimeoutExpired:
        with_group(proc, signal.SIGKILL)
        output = proc.communicate()[0]
        still_running = True
    text = output.decode(errors="replace")
    if still_running != (step.get("stops") is False):
        raise Failure(f"{command}: " + (f"still running after {seconds:g} s" if still_running
                                        else f"ended, where the guide says it hangs")
                      + f"; it printed:\n{tail(text)}")
    check(step, text, None if still_running else proc.returncode, log)


def start_server(run: Run, step: dict, log) -> None:
    """Starts a server on a port the kernel picks and waits for its ready line; the port as the
    guide writes it is that port in later commands, $PID its process."""
    written = str(step.get("port", 40713))
    command = step["server"]  # its port becomes 0 before an earlier server's port replaces it
    if re.search(rf"(?<!\d){written}(?!\d)", command):
        command = re.sub(rf"(?<!\d){written}(?!\d)", "0", command)
    else:
        command += " --port 0"
    command = run.expand(command)
    ready = re.compile(step.get("ready", READY.pattern.decode()).encode())
    log(f"$ {command} &")
    log_file = open(run.tmp / f"server-{len(run.servers)}.log", "wb")  # its stderr, kept
    proc = subprocess.Popen(["bash", "-c", command], cwd=run.tree, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=log_file, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log_file.close()
    run.servers.append(proc)
    # Reaped as soon as it ends, as a shell reaps its background job: a server a step stops
    # (`kill -INT $PID`) is then gone from /proc and ps, not left a zombie of ours.
    threading.Thread(target=proc.wait, daemon=True).start()
    seen = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # read whole lines: a port is complete at its line's end
        complete = seen[:seen.rfind(b"\n") + 1]
        if ready.search(complete):
            break
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            break
        seen += chunk
    match = ready.search(seen[:seen.rfind(b"\n") + 1])
    if not match:
        raise Failure(f"{command}: no ready line within 10 s (printed {seen!r})")
    run.ports[written] = match.group(1).decode()
    run.pid = procfs.listener_pid(int(run.ports[written]), proc.pid) or proc.pid
    log(f"  listening on port {run.ports[written]}, pid {run.pid}")


def check(step: dict, output: str, status: int | None, log) -> None:
    promised = step.get("status", 0)
    if status is not None and "run" in step and status not in (
            promised if isinstance(promised, list) else [promised]):
        raise Failure(f"{step['run']}: exit status {status}, promised {promised}; "
                      f"it printed:\n{tail(output)}")
    for text in step.get("shows", []):
        if text not in output:
            raise Failure(f"{step.get('run') or step.get('stop')}: promised to show\n"
                          f"    {text}\nit printed:\n{tail(output)}")
        log(f"  shows: {text}")
    for text in step.get("lacks", []):
        if text in output:
            raise Failure(f"{step.get('run') or step.get('stop')}: promised not to show\n"
                          f"    {text}\nit printed:\n{tail(output)}")
        log(f"  lacks: {text}")
    for number in step.get("numbers", []):
        found = re.search(number["pattern"], output, re.MULTILINE)
        if not found:
            raise Failure(f"promised a number matching {number['pattern']!r}; it printed:\n"
                          f"{tail(output)}")
        value = float(found.group(1).replace(",", ""))
        if not number["min"] <= value <= number["max"]:
            raise Failure(f"{number['pattern']!r}: {value:g}, promised {number['min']:g} to "
                          f"{number['max']:g}; it printed:\n{tail(output)}")
        log(f"  number: {value:.10g} (promised {number['min']:g} to {number['max']:g})")


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(f"    | {l}" for l in text.rstrip().splitlines()[-lines:]) or "    (nothing)"


def run_exercise(exercise: Exercise, source: pathlib.Path, tree: pathlib.Path, answer: bool,
                 log) -> None:
    """Brings the copy back to the repository as it is (and its build up to date), then applies
    the exercise's change and runs its steps; with `answer`, then its answer's."""
    sync(source, tree)
    build(tree)
    parts = [(exercise.changes, exercise.steps)]
    if answer and exercise.answer_steps:
        parts.append((exercise.answer, exercise.answer_steps))
    tmp = tree.parent / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    run = Run(tree, tmp)
    try:
        for changes, steps in parts:
            for change in changes:
                apply(tree, change)
                log(f"  changed {change['file']}")
            for step in steps:
                run_step(run, step, log)
    finally:
        run.stop_all()
        sync(source, tree)


def build(tree: pathlib.Path) -> None:
    if not (tree / "build" / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "--preset", "release"], cwd=tree, check=True,
                       stdout=subprocess.DEVNULL)
    done = subprocess.run(["cmake", "--build", "--preset", "release"], cwd=tree,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise Failure(f"the repository does not build in the copy:\n{tail(done.stdout)}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/exercise", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:8]))
    parser.add_argument("names", nargs="*", help="exercises (02c.1) or stages (02c)")
    parser.add_argument("--all", action="store_true", help="every exercise of every stage")
    parser.add_argument("--answer", action="store_true", help="also run the answers that are code")
    parser.add_argument("--list", action="store_true", help="list the exercises")
    parser.add_argument("--scratch", default=str(stages.default_build_dir() / "exercises"),
                        help="where the copy and its build go (default: build/exercises)")
    args = parser.parse_args(argv)
    if args.list:
        for e in every():
            print(f"{e.name:6} {e.title}{'  [answer: code]' if e.answer_steps else ''}")
        return 0
    if not args.names and not args.all:
        parser.error("name an exercise (02c.1) or a stage (02c), or give --all")
    try:
        chosen = pick(args.names)
    except ValueError as e:
        parser.error(str(e))
    tree = pathlib.Path(args.scratch).resolve() / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    failed = []
    for exercise in chosen:
        started = time.monotonic()
        print(f"== {exercise.name} {exercise.title}", flush=True)
        try:
            run_exercise(exercise, stages.REPO, tree, args.answer,
                         lambda line: print(f"   {line}", flush=True))
        except (Failure, subprocess.CalledProcessError) as e:
            failed.append(exercise.name)
            print(f"FAILED {exercise.name} ({exercise.stage.directory}/README.md, exercise "
                  f"{exercise.number}): {e}", flush=True)
            continue
        print(f"ok {exercise.name} ({time.monotonic() - started:.0f} s)", flush=True)
    print(f"\n{len(chosen) - len(failed)} of {len(chosen)} exercises kept their promises"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
