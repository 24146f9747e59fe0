"""Shows what each stage costs: its own lines of code, the common/ pieces it leans on, and the
state it keeps per connection, all read from the code by libclang (chapter/complexity_cpp.py).

    scripts/complexity           # regenerate docs/complexity.md and docs/complexity.zh-CN.md
    scripts/complexity --check   # exit 1, showing what changed, if either page is stale (CI)

The chapter calls the event-driven versions "more efficient, but more complex". These pages show
that complexity instead of hiding it in common/: for every stage of the registry
(chapter.stages), the lines of its main.cpp, the pieces of common/ it includes, and its
per-connection state: where it lives and each field, with the comment that says what it is for.

Each main.cpp is parsed as the compiler sees it (C++20, the include flags of the libraries its
description `needs`); a parse with an error stops the command. Per-connection state is then read
from the syntax tree by three rules:
- a container that grows (insert, emplace, push_back, ...) on a connection's path holds an
  element per connection: in a function on accept()'s path (one that calls accept(), or one that
  such a function calls, at any depth), or in one that serves a connection to its end (it calls
  a function of common/ that keeps per-connection state, the third rule, or calls such a
  function: 02c's worker(), which records the socket it serves). Where it is declared says where it lives, a reference parameter standing for what
  its callers pass (04's `connections`: a local of run()); a type of the stage's own that it
  holds (02b's Worker) is per-connection state;
- a stage's per-connection type is the one it names `Connection`: its own struct (05's, which
  derives from common::Connection) or common's, named by `using common::Connection;`, under the
  comment that says what it is. A Connection held by value in a local variable or a parameter
  lives on that function's stack (a blocking server's function that serves one client);
- a function of common/ that a function of the stage calls (declared in common/NAME.hpp,
  defined in common/NAME.cpp) may keep per-connection state in a local variable: one that holds
  a common::Connection or a common::LineProtocol by value, the protocol's state machine being
  per-connection state by definition, one per conversation. It lives on that function's stack,
  called from the stage's function (02's common::serve_blocking(), from child()). A LineProtocol
  is shown as one field, described by its type's comment, as in every stage's Connection: its
  own fields are in the section on common/, and the stages compare field for field.
The second rule is a convention rather than a discovery: nothing in the syntax tree tells a
struct kept per connection from any other, so a stage says which it is by its name (the third
names common's two). A server in which no rule finds anything stops the command (the rules no
longer describe the code); a client (01) keeps what it knows of its connections in the local
variables of run(), which the page lists instead.
Names, types as written and comments come from the syntax tree and the lexer. A field is
described by its trailing comment, else the comment right above it, else, in a run of fields
that such a comment heads, by that comment (↑), else by the first sentence of the comment on its
type. The common/ type that the stages' Connection is or derives from gets a section of its own,
with the fields of each of its fields' types that has two fields or more (common::LineProtocol;
common::Fd, one descriptor, is the field itself).
A code line is a line that holds a token other than a comment; #include lines count. A piece of
common/ is NAME.hpp with its NAME.cpp, and what it includes is read from both.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import difflib
import re
import sys

from chapter import complexity_cpp as cpp
from chapter import stages

REPO = stages.REPO
PAGES = {"en": REPO / "docs" / "complexity.md", "zh-CN": REPO / "docs" / "complexity.zh-CN.md"}

TEXT = {
    "en": {
        "title": "# Complexity: what each stage costs in code and in state",
        "other": "[中文](complexity.zh-CN.md)",
        "intro": (
            "The chapter grants that the event-driven servers are more efficient, but more "
            "complex. This page shows how much more, instead of hiding it in `common/`: the "
            "lines of each stage's own `main.cpp`, the pieces of `common/` it includes, and the "
            "state it keeps for each connection: where that state lives and what each field is "
            "for. Everything here is read from the code by "
            "[`scripts/complexity`](../scripts/complexity), and `scripts/complexity --check` "
            "(the CTest test `docs.generated`) fails when this page no longer matches it. The "
            "words in the last column are the code's own comments."),
        "counting": (
            "A *code line* is a line that is neither blank nor only a comment (`#include` lines "
            "count); *all* counts every line, comments included, since here the comments carry "
            "much of each lesson. Library code (libevent, the C++ standard library) is not "
            "counted: a bufferevent's buffering is libevent's code, not ours."),
        "glance": "## At a glance",
        "glance_head": ("| stage | `main.cpp`: code lines (all) | code lines of the `common/` "
                        "it relies on | per-connection state lives in | fields: in the stage + "
                        "from `common/` |"),
        "lines": "## Lines of code",
        "lines_intro": (
            "Each stage's `main.cpp`, and the pieces of `common/` it includes (a piece is "
            "`common/NAME.hpp` with its `.cpp`), and the pieces those include in turn: the stage "
            "relies on them without naming them. The last column counts the code lines of both."),
        "lines_head": ("| stage | code lines | all lines | includes from `common/` | reached "
                       "through them | `common/` code lines |"),
        "pieces_head": "| piece of `common/` | code lines | all lines | used by |",
        "state": "## Per-connection state, stage by stage",
        "state_intro": (
            "For each stage: what its own comment says, where the state lives, and the fields "
            "of each per-connection type. A field without a comment of its own is described by "
            "the comment on the run of fields it belongs to (↑), or failing that by the comment "
            "on its type (marked *type:*)."),
        "says": "The stage says:",
        "local": "a local variable of `{f}()`, declared in its body",
        "stack": "a local variable of `{f}()`{via}: on the stack, for as long as that call lasts",
        "via": " (`{file}`), called from `{caller}()`",
        "member": "a member of `struct {f}`",
        "grown": "; an element is added per accepted connection, in `{f}()` by `{call}`",
        "locals": ("no per-connection type and no `accept()`: this program opens one connection "
                   "per path it fetches, and what it knows about them is in the local variables "
                   "of `run()` (below) and in how far `run()` has got"),
        "glance_locals": "locals of `run()`",
        "glance_stack": "stack of `{f}()`{via}",
        "glance_container": "`{t}` in {where}",
        "fields_of": "Fields of `{t}`{base}:",
        "locals_of": "Local variables of `{f}`:",
        "base": " (with those of `{b}`, from `common/`)",
        "field_head": "| field | type | declared in | what it is for |",
        "type": "*type:* {where}: ",
        "none": "(no comment)",
        "common": "## Inside `common/`: what every hand-buffered stage shares",
        "common_intro": ("`{name}` (`{file}`) is the state that {users} keep per connection, "
                         "alone or as a base{parts}."),
        "part": "; its `{field}` field is a `{t}` (`{file}`), whose {private}fields are below",
        "private": "private ",
        "common_alone": " {keys}: its `{t}` alone, on a stack (see their sections above).",
        "common_others": " {others}: none of it (see its section above).",
        "footer": "Generated by `scripts/complexity`; do not edit by hand.",
        "colon": ": ",
        "sep": "; ",
        "list": ", ",
        "paren": " ({})",
    },
    "zh-CN": {
        "title": "# 复杂度：每个阶段在代码与状态上的代价",
        "other": "[English](complexity.md)",
        "intro": (
            "这一章承认，事件驱动的服务器更高效，但也更复杂。本页把“更复杂”具体摆出来，"
            "而不是藏进 `common/`：每个阶段自己的 `main.cpp` 有多少行，用了 `common/` "
            "的哪些部分，为每个连接保存了哪些状态，这些状态放在哪里，每个字段有什么用。"
            "本页的内容全部由 [`scripts/complexity`](../scripts/complexity) 从代码中读出；"
            "`scripts/complexity --check`（即 CTest 测试 `docs.generated`）在本页与代码不符时失败。"
            "最后一列的说明是代码自己的注释，保留英文原文。"),
        "counting": (
            "*代码行* 指既非空行、也不只是注释的行（`#include` 行也算）；*总行数* "
            "包括注释在内的所有行，因为在这里，每个阶段要讲的内容有很大一部分写在注释里。库的代码（libevent、C++ "
            "标准库）不计入：bufferevent 的缓冲是 libevent 的代码，不是我们的。"),
        "glance": "## 一览",
        "glance_head": ("| 阶段 | `main.cpp`：代码行（总行数） | 所依赖的 `common/` 的代码行 | "
                        "每连接状态放在 | 字段：阶段自己的 + 来自 `common/` 的 |"),
        "lines": "## 代码行数",
        "lines_intro": (
            "每个阶段的 `main.cpp`、它包含的 `common/` 部分（一个部分指 "
            "`common/NAME.hpp` 及其 `.cpp`），以及这些部分又包含的部分："
            "阶段依赖它们，却没有直接写出它们的名字。最后一列是两者代码行的合计。"),
        "lines_head": ("| 阶段 | 代码行 | 总行数 | 包含的 `common/` 部分 | 经由它们间接用到 | "
                       "`common/` 代码行 |"),
        "pieces_head": "| `common/` 部分 | 代码行 | 总行数 | 使用它的阶段 |",
        "state": "## 每连接状态，逐个阶段",
        "state_intro": (
            "每个阶段依次列出：它自己的注释怎么说，状态放在哪里，以及每个每连接类型的字段。"
            "没有自己注释的字段，用它所在那组字段上方的注释说明（记为 ↑），"
            "再没有就用它的类型上的注释（记为 *类型：*）。"),
        "says": "阶段自己的注释：",
        "local": "`{f}()` 的局部变量，在其函数体中声明",
        "stack": "`{f}()` 的局部变量{via}：在栈上，随这次调用存在",
        "via": "（`{file}`，由 `{caller}()` 调用）",
        "member": "`struct {f}` 的成员",
        "grown": "；每接受一个连接加入一个元素，由 `{f}()` 中的 `{call}` 加入",
        "locals": ("没有每连接类型，也没有 `accept()`：这个程序为每个要获取的路径各打开一个连接，"
                   "它对这些连接所知的一切都在 `run()` 的局部变量里（见下），"
                   "以及 `run()` 执行到了哪一步"),
        "glance_locals": "`run()` 的局部变量",
        "glance_stack": "`{f}()` 的栈上{via}",
        "glance_container": "{where} 的 `{t}`",
        "fields_of": "`{t}` 的字段{base}：",
        "locals_of": "`{f}` 的局部变量：",
        "base": "（含来自 `common/` 的 `{b}` 的字段）",
        "field_head": "| 字段 | 类型 | 声明于 | 用途（代码注释原文） |",
        "type": "*类型：* {where}：",
        "none": "（无注释）",
        "common": "## `common/` 内部：手工缓冲的各阶段共用的状态",
        "common_intro": ("`{name}`（`{file}`）是 {users} 为每个连接保存的状态"
                         "（直接使用或作为基类）{parts}。"),
        "part": "；它的 `{field}` 字段是一个 `{t}`（`{file}`），其{private}字段列在下面",
        "private": "私有",
        "common_alone": "{keys} 只用其中的 `{t}`，放在栈上（见上文各阶段一节）。",
        "common_others": "{others} 完全不用它（见上文该阶段一节）。",
        "footer": "由 `scripts/complexity` 生成，请勿手工编辑。",
        "colon": "：",
        "sep": "；",
        "list": "、",
        "paren": "（{}）",
    },
}


def piece_counts(piece: str) -> tuple[int, int]:
    """(code lines, all lines) of common/<piece>.hpp and .cpp together."""
    files = [cpp.piece_file(p)[0] for p in cpp.piece_files(piece)]
    return sum(f.code_lines for f in files), sum(f.total for f in files)


def cell(text: str) -> str:
    """Comment text made safe for a table cell, for GitHub and for Doxygen: outside code spans,
    <, > and & become entities; | is escaped everywhere."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join((p if p.startswith("`") and len(p) > 1 else
                    p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
                   .replace("|", "\\|") for p in parts)


def code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def via(place: cpp.Place, t: dict[str, str]) -> str:
    caller, _, file = place.via.partition("\t")
    return t["via"].format(caller=caller, file=file) if place.via else ""


def place_text(place: cpp.Place, t: dict[str, str]) -> str:
    kind, _, owner = place.where.partition(":")
    if kind == "locals":
        return t["locals"]
    function, _, call = place.grown_by.partition(": ")
    grown = t["grown"].format(f=function, call=call) if place.grown_by else ""
    where = t[kind].format(f=owner, via=via(place, t))
    return f"{code(place.declaration)}{t['colon']}{where}{grown}"


def glance_place(place: cpp.Place, t: dict[str, str]) -> str:
    kind, _, owner = place.where.partition(":")
    if kind in ("locals", "stack"):
        return t[f"glance_{kind}"].format(f=owner, via=via(place, t))
    return t["glance_container"].format(t=place.declaration.split(" (")[0],
                                        where=code(owner + "()" * (kind == "local")))


def field_counts(stage: cpp.Stage, t: dict[str, str]) -> str:
    rows = [r for record in stage.records for r in record.rows]
    own, shared = ([r.name for r in rows if r.owner.startswith("common::") == common]
                   for common in (False, True))
    names = " + ".join(t["list"].join(map(code, dict.fromkeys(group)))
                       for group in (own, shared) if group)
    return f"{len(set(own))} + {len(set(shared))}" + (f"{t['colon']}{names}" if names else "")


def field_table(title: str, rows: list[cpp.Row], t: dict[str, str]) -> list[str]:
    out = ["", title, "", t["field_head"], "|---|---|---|---|"]
    for row in rows:
        name, _, path = row.why_from.removeprefix("type: ").partition("\t")
        why = cell(row.why) if row.why else t["none"]
        if row.why_from.startswith("type: "):
            why = t["type"].format(where=code(name) + t["paren"].format(path)) + why
        why = "↑" if row.why_from == "above" else why
        out.append(f"| {code(row.name)} | {code(row.type)} | {code(row.owner)} | {why} |")
    return out


def page(lang: str, found: list[cpp.Stage]) -> str:
    t = TEXT[lang]
    glance = ["", t["glance"], "", t["glance_head"], "|---|---|---|---|---|"]
    lines = ["", t["lines"], "", t["lines_intro"], "", t["lines_head"], "|---|---|---|---|---|---|"]
    users: dict[str, list[str]] = {}
    for s in found:
        key, indirect = s.key, cpp.closure(s.includes)
        common_code = sum(piece_counts(p)[0] for p in s.includes + indirect)
        for p in s.includes + indirect:
            users.setdefault(p, []).append(key)
        glance.append(f"| [{s.name}](../{s.name}/main.cpp) | {s.code}{t['paren'].format(s.total)}"
                      f" | {common_code} | {t['sep'].join(glance_place(p, t) for p in s.places)}"
                      f" | {field_counts(s, t)} |")
        lines.append(f"| {s.name} | {s.code} | {s.total} | {t['list'].join(s.includes)} | "
                     f"{t['list'].join(indirect) or '–'} | {common_code} |")
    out = [t["title"], "", t["other"], "", t["intro"], "", t["counting"]] + glance + lines
    out += ["", t["pieces_head"], "|---|---|---|---|"]
    for p in sorted(users):
        files = " + ".join(code(f"common/{f.name}") for f in cpp.piece_files(p))
        c, a = piece_counts(p)
        out.append(f"| {p}{t['colon']}{files} | {c} | {a} | {t['list'].join(users[p])} |")

    out += ["", t["state"], "", t["state_intro"]]
    for s in found:
        out += ["", f"### {s.name}", ""]
        out += [t["says"], "", "> " + cell(s.comment), ""] if s.comment else []
        out += [f"- {place_text(p, t)}" for p in s.places]
        for r in s.records:
            base = t["base"].format(b=r.base) if r.base else ""
            out += field_table(t["locals_of"].format(f=r.name) if r.name.endswith("()") else
                               t["fields_of"].format(t=r.name, base=base), r.rows, t)

    first = next((s for s in found if s.shared), None)
    if first:  # the common/ type the stages' Connection is or derives from
        (_, shared), *parts = first.shared
        keys = [s.key for s in found if s.shared and s.shared[0][1].name == shared.name]
        others = [s.key for s in found if not s.shared
                  and any(r.name == "Connection" for r in s.records)]
        intro = t["common_intro"].format(
            name=shared.name, file=shared.file, users=t["list"].join(keys), parts="".join(
                t["part"].format(field=f, t=r.name, file=r.file, private=t["private"] * r.private)
                for f, r in parts))
        alone = {s.key: r.rows[0].type for s in found for r in s.records  # a local of common/
                 if r.name.startswith("common::")}
        intro += t["common_alone"].format(keys=t["list"].join(alone), t=min(alone.values())) \
            if alone else ""
        out += ["", t["common"], "", intro + (t["common_others"].format(
            others=t["list"].join(others)) if others else "")]
        for _, r in first.shared:
            out += field_table(t["fields_of"].format(t=r.name, base=""), r.rows, t)
    return "\n".join(out + ["", t["footer"], ""])


def read(description: stages.Description) -> cpp.Stage:
    stage = cpp.read_stage(description.path / "main.cpp", description.needs, description.kind)
    return dataclasses.replace(stage, key=description.key)


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/complexity",
                                     description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--check", action="store_true",
                        help="fail, showing the difference, if a committed page is stale")
    args = parser.parse_args()
    with concurrent.futures.ProcessPoolExecutor() as pool:  # most of a second per parse
        found = list(pool.map(read, stages.descriptions()))
    stale = False
    for lang, path in PAGES.items():
        text, name = page(lang, found), str(path.relative_to(REPO))
        current = path.read_text() if path.exists() else ""
        if not args.check:
            path.write_text(text)
            print(f"complexity: wrote {name}")
        elif current != text:
            stale = True
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                             f"{name} (committed)", f"{name} (from the code)",
                                             n=0, lineterm=""))
            print(f"complexity: {name} is stale; what changed:", file=sys.stderr)
            print("\n".join("  " + line for line in diff[:60]), file=sys.stderr)
            if len(diff) > 60:
                print(f"  ... and {len(diff) - 60} more lines", file=sys.stderr)
    if stale:
        print("complexity: run scripts/complexity and commit the result", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
