"""Builds the documentation site with Doxygen: the guides, the protocol, the errata, the
robustness and benchmark pages, and the API of common/. The CMake target `docs` runs it:

    cmake --build build --target docs        # then open build/docs/html/index.html

The Markdown files are written for a repository browser: their links are relative to the file
(`../docs/ERRATA.md#errata-04`, `main.cpp`, `../docs/diffs/03-04.diff`). In the site every page
sits in one directory, so this script stages a copy of each Markdown file with its links
rewritten for the site, runs Doxygen on the copies, and adds the side-by-side stage diffs and
the side-by-side timelines of scripts/trace.
Any Doxygen warning fails the build.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import subprocess
import sys

from chapter import stages

REPO = stages.REPO


def stage_files(name: str) -> list[str]:
    """`name` in every stage's directory (the registry's), in the chapter's order."""
    return [f"{d.directory}/{name}" for d in stages.descriptions() if (d.path / name).exists()]


# The pages of the site, in the order of the navigation tree.
PAGES = ["README.md", "docs/protocol.md", "docs/glossary.md",
         *stage_files("README.md"),
         "docs/ERRATA.md", "docs/robustness.md", "docs/bench.md", "docs/diffs/README.md",
         "docs/complexity.md", "docs/write-your-own.md", "docs/instructors.md",
         "docs/adding-a-stage.md",
         "bench/analysis.md", *sorted(str(p.relative_to(REPO))
                                      for p in REPO.glob("bench/results/*.md")),
         "tests/fuzz/README.md", "README.zh-CN.md",
         *stage_files("README.zh-CN.md"),
         "docs/complexity.zh-CN.md", "docs/write-your-own.zh-CN.md", "docs/instructors.zh-CN.md"]
PAGES = [p for p in PAGES if (REPO / p).exists()]
# Sources whose code the site shows (SOURCE_BROWSER); common/ is documented, not only shown.
SOURCES = [*stage_files("main.cpp"),
           *sorted(str(p.relative_to(REPO)) for p in REPO.glob("common/*.hpp"))]
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
CODE_ELEMENT = re.compile(r"<code>.*?</code>")
BOLD = re.compile(r"\*\*(.+?)\*\*")
# *emphasis*: an asterisk that opens (not followed by white space) and one that closes (not
# preceded by it), not inside an ASCII word (a*b*c, test_*.py) and not escaped. Unlike
# Markdown's rule, a CJK character may stand right outside either one: Chinese has no spaces
# between words, so 是*阻塞*的 is emphasis too, which Doxygen's Markdown does not see.
EMPHASIS = re.compile(r"(?<![A-Za-z0-9_*\\])\*(?![\s*])([^*\n]+?)(?<![\s\\])\*(?![A-Za-z0-9_*])")


def doxygen_code(match: re.Match) -> str:
    """An inline code span as Doxygen must see it: its Markdown code spans trip on quotes and
    take backslash sequences such as a printf's \\n for commands, so the span becomes an HTML
    <code> element with Doxygen's special characters escaped."""
    text = match.group(1).replace("\\", "\\\\")
    for special in "@#%$":
        text = text.replace(special, "\\" + special)
    text = text.replace("--", "\\--")  # not an en dash
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<code>{text}</code>"


def emphasis(line: str) -> str:
    """Bold and emphasis of one line as HTML, <b> and <em>, leaving its <code> elements alone.
    Doxygen's Markdown bold stops at a tag, and its emphasis needs a word boundary (a space or
    punctuation) outside each asterisk, which Chinese text does not have: *阻塞* in 是*阻塞*的
    would stay two literal asterisks. Emphasis inside ASCII double quotes is left as it is:
    Doxygen shows a tag there as text."""
    codes = CODE_ELEMENT.findall(line)
    line = BOLD.sub(r"<b>\1</b>", CODE_ELEMENT.sub("\ue000", line))

    def em(match: re.Match) -> str:
        quoted = line.count('"', 0, match.start()) % 2
        return match.group() if quoted else f"<em>{match.group(1)}</em>"

    line = EMPHASIS.sub(em, line)
    return re.sub("\ue000", lambda _: codes.pop(0), line)


def doxygen_markdown(text: str) -> str:
    """Rewrites `text` for Doxygen, leaving fenced code blocks as they are: inline code spans
    become <code> elements, bold and emphasis become <b> and <em> (see emphasis()), and
    headings lose their backticks (a heading is also the page's title in the navigation tree,
    which shows tags as text)."""
    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line)
        elif fenced:
            out.append(line)
        elif line.startswith("#"):
            out.append(line.replace("`", ""))
        else:
            out.append(emphasis(CODE_SPAN.sub(doxygen_code, line)))
    return "".join(out)


def doxygen_source_page(path: str) -> str:
    """The name Doxygen gives the source page of `path`, one of SOURCES. A file name that no
    other source shares is enough for Doxygen (common/posix.hpp: posix_8hpp_source.html); one
    that several share (main.cpp) keeps its path (04-select-server_2main_8cpp_source.html)."""
    name = pathlib.PurePath(path).name
    shared = sum(1 for source in SOURCES if pathlib.PurePath(source).name == name) > 1
    escaped = (path if shared else name).replace("_", "__").replace("/", "_2").replace(".", "_8")
    return escaped + "_source.html"


def rewrite_link(page: str, image: bool, target: str, extra_files: set[str]) -> str:
    """The site's version of one link found in `page` (a repository path)."""
    if re.match(r"^[a-z]+:", target) or target.startswith("#"):
        return target  # external, or within the page
    path, _, anchor = target.partition("#")
    resolved = (REPO / page).parent.joinpath(path).resolve()
    try:
        relative = str(resolved.relative_to(REPO))
    except ValueError:
        return target  # outside the repository: left as it is (and the link check will say)
    if image:
        return resolved.name  # found through IMAGE_PATH and copied by Doxygen
    if relative in PAGES:
        # Pages are staged at the same relative paths, so the link stays; Doxygen turns it into
        # a link to the page. The anchor goes: Doxygen names its sections differently.
        return path
    if relative in SOURCES:
        return doxygen_source_page(relative)
    if not resolved.exists():
        return target  # a broken link: left as it is, for the link check to report
    if resolved.is_dir():
        return "files.html"  # a folder: the site's list of files
    if relative.startswith("docs/diffs/") and relative.endswith(".diff"):
        return "diffs/" + pathlib.Path(relative).with_suffix(".html").name
    if relative.startswith("docs/traces/") and relative.endswith(".html"):
        return "traces/" + pathlib.Path(relative).name  # scripts/trace's page, copied by main()
    # Anything else (a script, a test): a copy in the site, shown as it is.
    extra_files.add(relative)
    return "repo/" + relative + (("#" + anchor) if anchor else "")


def stage(source_dir: pathlib.Path) -> set[str]:
    """Copies every page into `source_dir` with its links rewritten; returns the other files
    the pages link to."""
    extra_files: set[str] = set()
    for page in PAGES:
        text = (REPO / page).read_text()

        def replace(match: re.Match) -> str:
            image, label, target = match.group(1), match.group(2), match.group(3)
            return f"{image}[{label}]({rewrite_link(page, bool(image), target, extra_files)})"

        out = source_dir / page
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(doxygen_markdown(LINK.sub(replace, text)))
    return extra_files


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/docs-site", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory (html/ goes inside)")
    parser.add_argument("--doxyfile", required=True, help="the configured Doxyfile")
    args = parser.parse_args()
    out = pathlib.Path(args.out).resolve()
    source_dir = out / "src"
    if source_dir.exists():
        shutil.rmtree(source_dir)
    extra_files = stage(source_dir)
    for source in SOURCES:
        (source_dir / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / source, source_dir / source)

    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    result = subprocess.run(["doxygen", args.doxyfile], cwd=source_dir)
    if result.returncode != 0:
        print("docs-site: doxygen failed (warnings are errors)", file=sys.stderr)
        return 1
    missing = [s for s in SOURCES if not (html / doxygen_source_page(s)).exists()]
    if missing:  # the links rewritten to them would be broken: say why here, not in a link check
        print(f"docs-site: Doxygen wrote no source page named as doxygen_source_page() expects "
              f"for {missing}", file=sys.stderr)
        return 1
    # The stage diffs (scripts/stage-diff) and the timelines page (scripts/trace --write).
    for folder in ("diffs", "traces"):
        (html / folder).mkdir(exist_ok=True)
        for page in (REPO / "docs" / folder).glob("*.html"):
            shutil.copyfile(page, html / folder / page.name)
    for relative in sorted(extra_files):
        target = html / "repo" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / relative, target)
    print(f"docs-site: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
