"""The students' container, as far as it can be checked without building it (tests/container/run
builds and runs it, outside the default tier): one list of packages, the same three run options
everywhere a student or CI is told them, and a CI workflow that YAML and yamllint accept."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from chapter import stages

TOP = stages.REPO
# What the lessons need of a container runtime; Containerfile says why each.
RUN_OPTIONS = ["--cap-add SYS_PTRACE", "--security-opt seccomp=unconfined",
               "--ulimit nofile=20000:20000"]


def normalized(text: str) -> str:
    """Options as one line each way of writing them allows: `--opt=value` as `--opt value`,
    line continuations and runs of blanks as one space."""
    text = re.sub(r"\\\n\s*", " ", text)
    text = re.sub(r"(--(?:cap-add|security-opt|ulimit))=", r"\1 ", text)
    return re.sub(r"\s+", " ", text)


def test_the_image_installs_what_install_deps_installs_by_calling_it():
    containerfile = (TOP / "Containerfile").read_text()
    code = [line for line in containerfile.splitlines() if not line.startswith("#")]
    assert any(re.match(r"COPY scripts/install-deps ", line) for line in code)
    assert any(line.startswith("RUN install-deps") for line in code)
    installs = [line for line in code if re.search(r"apt-get install|apt install", line)]
    assert not installs, f"a second list of packages: {installs}"
    assert re.search(r"^ARG BASE=\S*debian:bookworm$", containerfile, re.MULTILINE)


@pytest.mark.parametrize("path", ["README.md", "README.zh-CN.md", "Containerfile",
                                  ".github/workflows/ci.yml"])
def test_every_run_command_gives_the_three_options(path):
    text = normalized((TOP / path).read_text())
    commands = re.findall(r"(?:docker|podman) run [^`\n]*", text)
    assert commands, f"{path} gives no run command"
    for command in commands:
        for option in RUN_OPTIONS:
            assert option in command, f"{path}: {command!r} lacks {option}"


def test_the_dev_container_uses_the_containerfile_with_the_same_options():
    text = (TOP / ".devcontainer/devcontainer.json").read_text()
    config = json.loads(re.sub(r"(?m)^\s*//.*$", "", text))  # JSON with comments, as VS Code's
    assert (TOP / ".devcontainer" / config["build"]["dockerfile"]).resolve() == \
        (TOP / "Containerfile").resolve()
    assert normalized(" ".join(config["runArgs"])).split() == " ".join(RUN_OPTIONS).split()


def test_the_workflow_runs_ci_in_the_image_and_passes_yamllint():
    workflow = TOP / ".github/workflows/ci.yml"
    text = workflow.read_text()
    assert "--file Containerfile" in normalized(text)
    assert re.search(r"libevent-chapter1 bash \.ci/run$", normalized(text).strip())
    yamllint = shutil.which("yamllint")
    assert yamllint, "yamllint is missing: scripts/install-deps installs it"
    result = subprocess.run([yamllint, "--strict", "-c", TOP / "tests/container/yamllint.yml",
                             workflow], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_checkout_has_lf_line_endings_so_scripts_run_in_the_container():
    # A clone made on Windows is mounted into the container: a script with CRLF endings fails
    # there ("bash\r: No such file or directory").
    for path in ["scripts/tour", "scripts/test", ".ci/run", "Containerfile", "README.md"]:
        attrs = subprocess.run(["git", "check-attr", "text", "eol", "--", path], cwd=TOP,
                               capture_output=True, text=True, check=True).stdout
        assert f"{path}: eol: lf" in attrs and f"{path}: text: auto" in attrs, attrs
