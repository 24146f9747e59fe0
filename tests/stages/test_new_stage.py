"""Adding a stage means adding a directory (docs/adding-a-stage.md). In a scratch copy of the
repository, 07's directory is copied under a new name with its description changed, and no other
file is edited: the build, CTest's protocol and robustness tests, scripts/check --model event,
scripts/trace, bench/run --quick, scripts/stage-diff and the documentation site all take the new
stage, and no file outside its directory names it."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from chapter import mentions, stages

SOURCE = stages.reference("W2")  # 07: raw epoll, a stage with every piece


def unnamed_key() -> str:
    """A two-digit key that no code file names yet: then any file that names the new stage
    afterwards does so because of it (this test's file does not spell it out either)."""
    files = [p.read_text(errors="replace") for p in mentions.code_files(stages.REPO)]
    for number in range(99, 9, -1):
        if not any(re.search(rf"(?<![\w.]){number}(?![\w])", text) for text in files):
            return str(number)
    raise AssertionError("every two-digit key is named somewhere")


KEY = unnamed_key()
NEW = f"{KEY}-copied-server"


def run(*argv, cwd, timeout: float = 600, env: dict | None = None) -> str:
    """Runs a command in the copy; its output, or a failure showing it."""
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (f"{' '.join(map(str, argv))}: exit {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The repository as committed and as it stands (tracked and new files, nothing ignored),
    in a git repository of its own, with the new stage's directory added."""
    root = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=stages.REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (stages.REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(stages.REPO / name, root / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    run(*git, "init", "-q", cwd=root)
    run(*git, "add", "-A", cwd=root)
    run(*git, "commit", "-q", "-m", "the repository", cwd=root)
    new = root / NEW
    shutil.copytree(root / SOURCE.directory, new)
    description = json.loads((new / "stage.json").read_text())
    description.update(key=KEY, diff_from=[SOURCE.key],
                       title={"en": f"{SOURCE.key} again, under another name",
                              "zh-CN": f"换了名字的 {SOURCE.key}"})
    description["bench"] = {"label": f"{KEY} copied", "color": "#000000", "marker": "X"}
    (new / "stage.json").write_text(json.dumps(description, indent=2, ensure_ascii=False) + "\n")
    status = run("git", "status", "--porcelain", cwd=root)
    assert status.splitlines() == [f"?? {NEW}/"], "the copy must differ only by the new stage"
    return root


@pytest.fixture(scope="module")
def build(copy):
    build = copy / "build" / "new-stage"
    run("cmake", "-S", copy, "-B", build, "-DCMAKE_BUILD_TYPE=Release", cwd=copy)
    run("cmake", "--build", build, "-j2", "--target", NEW, "loadgen", "floor", cwd=copy)
    return build


def test_no_file_outside_the_new_directory_names_the_new_stage(copy):
    where = mentions.count(copy)[NEW]
    assert where == {"code": [], "anywhere": []}


def test_ctest_runs_the_protocol_and_robustness_suites_on_it(copy, build):
    out = run("ctest", "--test-dir", build, "-R", rf"^(protocol|robustness)\.{KEY}$",
              "--output-on-failure", cwd=copy, timeout=900)
    assert f"protocol.{KEY}" in out and f"robustness.{KEY}" in out
    assert "100% tests passed" in out


def test_the_tester_holds_it_to_the_event_model(copy, build):
    out = run(copy / "scripts" / "check", "--model", "event", "--", build / "bin" / NEW,
              "--bind", "{host}", "--port", "{port}", cwd=copy)
    assert "PASSED" in out and "11 model" in out


def test_the_tracer_draws_its_timeline_and_its_lesson_holds(copy, build, tmp_path):
    svg = tmp_path / "trace.svg"
    out = run(copy / "scripts" / "trace", KEY, "--build-dir", build, "--svg", svg, cwd=copy)
    assert svg.read_text().startswith("<?xml") and f"{NEW}:" in out


def test_the_benchmark_measures_it(copy, build, tmp_path):
    run(copy / "bench" / "run", "--quick", "--build-dir", build, "--stages", KEY,
        "--workloads", "W1", "--out", tmp_path, cwd=copy)
    assert f"{KEY} copied" in (tmp_path / "bench.md").read_text()


def test_the_stage_diff_shows_what_it_changed(copy):
    run(copy / "scripts" / "stage-diff", "--write", cwd=copy)
    assert (copy / "docs" / "diffs" / f"{SOURCE.key}-{KEY}.diff").exists()
    assert NEW in (copy / "docs" / "diffs" / "README.md").read_text()


def test_the_documentation_site_shows_its_guides(copy, build):
    run("cmake", "--build", build, "--target", "docs", cwd=copy, timeout=900)
    html = build / "docs" / "html"
    assert (html / f"md_{NEW.replace('-', '_')}_README.html").exists()
    assert (html / f"md_{NEW.replace('-', '_')}_README_zh_CN.html").exists()
