"""The student's path is one build: after scripts/tour (the release preset, into build/), every
command of every guide and of the instructors' notes runs as written without building again.
Every `build/...` path they write must therefore exist in that build: run with
`--build-dir=build` after scripts/tour (scripts/test --full does), or against any build of the
same tree (CTest's docs.paths: the programs are the same in every build)."""
from __future__ import annotations

import re

from chapter import stages

DOCUMENTS = [*(g for d in stages.descriptions() for g in sorted(d.path.glob("README*.md"))),
             stages.REPO / "docs" / "instructors.md", stages.REPO / "docs" / "instructors.zh-CN.md"]
# build/ as a word of its own (not build-fortify/, not a/build/), then the path's characters.
BUILD_PATH = re.compile(r"(?<![\w./-])build/([\w./+-]*[\w+-])")


def build_paths() -> dict[str, list[str]]:
    """Each path under build/ the documents write -> the documents that write it."""
    found: dict[str, list[str]] = {}
    for document in DOCUMENTS:
        for path in BUILD_PATH.findall(document.read_text()):
            found.setdefault(path, []).append(str(document.relative_to(stages.REPO)))
    return found


def test_the_documents_write_build_paths_at_all():
    # Every server's guide runs its program from build/bin/: the check below is not empty.
    assert len(build_paths()) >= len(stages.descriptions())


def test_every_build_path_of_the_guides_exists_after_the_tours_build(bin_dir):
    build = bin_dir.parent
    missing = {path: where for path, where in build_paths().items()
               if not (build / path).exists()}
    assert not missing, (f"written in the guides as build/..., missing from {build}: "
                         + "; ".join(f"build/{p} ({', '.join(sorted(set(w)))})"
                                     for p, w in sorted(missing.items())))
