"""Where each stage is named outside its own directory: a measure of how many places a new or
renamed stage would have to touch (tests/stages/test_registry.py holds every stage to at most
three files, in code).

    scripts/stage-mentions            # a table: per stage, the files that name it
    scripts/stage-mentions --verbose  # with the files

A file names a stage when its key (`04`, `02b`) stands as a word of its own, or its directory's
name appears, in one of two readings: in its code (comments and Python docstrings left out),
and anywhere in it (comments too). The files counted are the repository's tracked code files
outside the stage's directory; left out, as the issue counts: Markdown and docs/ (prose that
explains the stages) and each stage's exercises.toml (its guide's exercises in the form that
scripts/exercise runs: the guide's own commands, which name the stages the guide names),
committed results (bench/results/, docs/traces/) and recorded reports (tests/check/golden/), and
the fuzzing corpus.
"""
from __future__ import annotations

import argparse
import io
import pathlib
import re
import subprocess
import sys
import tokenize

from chapter import stages

LEFT_OUT = ("docs/", "bench/results/", "tests/check/golden/", "tests/fuzz/corpus/")


def code_files(root: pathlib.Path) -> list[pathlib.Path]:
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, text=True, check=True).stdout.split()
    return [root / f for f in tracked if not f.endswith((".md", "/exercises.toml"))
            and not f.startswith(LEFT_OUT) and (root / f).is_file()]


def without_comments(path: pathlib.Path, text: str) -> str:
    """The code of a file: C++ without // and /* */ comments, Python without comments and
    docstrings, shell and CMake without # comments; anything else as it is."""
    if path.suffix in (".cpp", ".hpp", ".c", ".h"):
        return re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.DOTALL)
    if path.suffix == ".py" or text.startswith("#!/usr/bin/python3"):
        return python_code(text)
    if path.suffix in ("", ".sh", ".txt", ".in", ".ini") or path.name == "CMakeLists.txt":
        return re.sub(r"(?m)(^|\s)[#;].*$", " ", text)
    return text


def python_code(text: str) -> str:
    out, previous = [], tokenize.INDENT
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            docstring = (token.type == tokenize.STRING and previous in
                         (tokenize.INDENT, tokenize.NEWLINE, tokenize.DEDENT))
            if token.type != tokenize.COMMENT and not docstring:
                out.append(token.string)
            if token.type not in (tokenize.NL, tokenize.COMMENT):
                previous = token.type
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text
    return " ".join(out)


def naming(d: stages.Description) -> re.Pattern:
    return re.compile(rf"(?<![\w.]){re.escape(d.key)}(?![\w])|{re.escape(d.directory)}")


def count(root: pathlib.Path = stages.REPO) -> dict[str, dict[str, list[str]]]:
    """{directory: {"code": [files], "anywhere": [files]}} for every stage."""
    files = [(p, p.read_text(errors="replace")) for p in code_files(root)]
    found = {}
    for d in stages.descriptions(root):
        pattern = naming(d)
        outside = [(p, t) for p, t in files if not p.is_relative_to(root / d.directory)]
        found[d.directory] = {
            "code": [str(p.relative_to(root)) for p, t in outside
                     if pattern.search(without_comments(p, t))],
            "anywhere": [str(p.relative_to(root)) for p, t in outside if pattern.search(t)],
        }
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stage-mentions",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the files")
    args = parser.parse_args(argv)
    for directory, where in count().items():
        print(f"{directory:26} in code: {len(where['code']):2}   anywhere: "
              f"{len(where['anywhere']):2}")
        if args.verbose:
            for f in where["anywhere"]:
                print(f"    {f}{'' if f in where['code'] else '  (in comments only)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
