"""Reading a stage's C++ for chapter.complexity, with libclang (Debian's python3-clang-14):
`parse` gives a file as the compiler sees it, `File` its lines and comments as libclang's lexer
reads them, `read_stage` what a main.cpp keeps per connection (chapter/complexity.py: the rules).
"""
from __future__ import annotations

import ctypes
import dataclasses
import functools
import pathlib
import re
import shlex
import subprocess

from chapter import stages

try:
    import clang.cindex as ci
except ModuleNotFoundError:
    raise SystemExit("complexity: needs libclang's Python bindings: scripts/install-deps installs "
                     "them (Debian's python3-clang-14)") from None

REPO, COMMON, K, T = stages.REPO, stages.REPO / "common", ci.CursorKind, ci.TypeKind
RECORDS = (K.STRUCT_DECL, K.CLASS_DECL)
FUNCTIONS = (K.FUNCTION_DECL, K.CXX_METHOD, K.CONSTRUCTOR, K.DESTRUCTOR, K.FUNCTION_TEMPLATE)
GROWS = {"insert", "emplace", "emplace_back", "emplace_front", "push_back", "push_front",
         "try_emplace"}
SINGLE_FILE = 0x400  # CXTranslationUnit_SingleFileParse, which the Python bindings do not name


def flags(needs: tuple[str, ...] = ()) -> list[str]:
    """As CMake builds a stage: C++20, the repository's top, and the include flags of the
    libraries it needs, as system headers (-isystem: not ours). libclang, unlike the clang++
    driver, has no directory of its own from which to find GCC's libstdc++: --gcc-toolchain
    says where GCC is."""
    found = needs and subprocess.run(["pkg-config", "--cflags", *needs], capture_output=True,
                                     text=True)
    if found and found.returncode:
        raise SystemExit(f"complexity: pkg-config --cflags {' '.join(needs)}: {found.stderr}")
    return ["-x", "c++", "-std=c++20", f"-I{REPO}", "--gcc-toolchain=/usr",
            *(re.sub(r"^-I", "-isystem", f) for f in shlex.split(found.stdout if found else ""))]


def parse(path: pathlib.Path, needs: tuple[str, ...] = (), single_file: bool = False):
    """`path` parsed, its #include directives kept; an error stops the command. `single_file`
    reads the file without its includes, for its directives and tokens: its errors (unknown
    names, all of them) mean nothing."""
    options = ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD | SINGLE_FILE * single_file
    tu = ci.Index.create().parse(str(path), args=flags(needs), options=options)
    errors = [str(d) for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    if errors and not single_file:
        raise SystemExit(f"complexity: libclang cannot parse {path} with {' '.join(flags(needs))}"
                         ":\n  " + "\n  ".join(errors))
    return tu


def words(line: str) -> str:
    """The words of one line of comment, without //, ///<, /*, * or @brief; @p name as code."""
    line = re.sub(r"\*+/$", "", re.sub(r"^(?:/\*+|//+[<!]?|\*+/?)", "", line.strip())).strip()
    return re.sub(r"[@\\][pc]\s+(\w+)", r"`\1`", re.sub(r"^@brief\s+", "", line))


def contents(tu, path: str) -> bytes:
    """The bytes of `path` that libclang read, and gave its offsets in (not what the disk holds
    now: someone may be editing it)."""
    get, size = ci.conf.lib.clang_getFileContents, ctypes.c_size_t()  # not in the bindings
    get.argtypes = [ci.c_object_p, ci.c_object_p, ctypes.POINTER(ctypes.c_size_t)]
    get.restype = ctypes.c_void_p
    return ctypes.string_at(get(tu, tu.get_file(path), ctypes.byref(size)), size.value)


class File:
    """One file as libclang's lexer reads it: the lines that hold code, each line's comments."""

    def __init__(self, tu, path: str):
        self.data = contents(tu, path)
        self.total = len(self.data.decode().splitlines())
        self.code, self.comments = set(), {}
        for token in tu.get_tokens(extent=tu.get_extent(path, (0, len(self.data)))):
            start, end = token.extent.start, token.extent.end
            if token.kind != ci.TokenKind.COMMENT:
                self.code.update(range(start.line, end.line + 1))
                continue
            for i, text in enumerate(token.spelling.split("\n")):
                self.comments.setdefault(start.line + i, []).append((start.column * (not i), text))
        self.code_lines = len([n for n in self.code if n <= self.total])

    def text(self, start, end) -> str:
        return " ".join(self.data[start.offset:end.offset].decode().split())

    def above(self, line: int) -> list[str]:
        """The lines of the comment right above `line`: no blank line, no code between."""
        found = []
        while line - 1 in self.comments and line - 1 not in self.code:
            line -= 1
            found[:0] = [text for _, text in self.comments[line]]
        return found

    def after(self, cursor) -> str:
        """The comment after a declaration, on its last line."""
        end = cursor.extent.end
        return " ".join(words(t) for col, t in self.comments.get(end.line, ()) if col >= end.column)

    def why(self, cursor) -> str:
        """A declaration's own comment: after it, else right above it."""
        return self.after(cursor) or " ".join(map(words, self.above(cursor.extent.start.line)))

    def doc(self, line: int) -> str:
        """The first sentence of the comment above `line`, up to a blank line or Doxygen tag."""
        found = []
        for text in map(words, self.above(line)):
            if (not text and found) or text.startswith("@"):
                break
            found += [text] if text else []
        match = re.match(r"(.+?[.!?])(?:\s|$)", " ".join(found))
        return match.group(1) if match else " ".join(found)


@functools.cache
def lexed(tu, path: str) -> File:
    return File(tu, path)


def source(cursor) -> File:
    return lexed(cursor.translation_unit, cursor.extent.start.file.name)


def path_of(cursor) -> str:
    path = pathlib.Path(cursor.extent.start.file.name)
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def qualified(cursor) -> str:
    """`common::Connection`; a name in an anonymous namespace has no prefix."""
    names = []
    while cursor is not None and cursor.kind != K.TRANSLATION_UNIT:
        names[:0] = [cursor.spelling] if cursor.spelling else []
        cursor = cursor.semantic_parent
    return "::".join(names)


def written(cursor) -> str:
    """A declaration's type as its source spells it: `std::map<evutil_socket_t, Connection>`."""
    array = f"[{cursor.type.element_count}]" if cursor.type.kind == T.CONSTANTARRAY else ""
    return source(cursor).text(cursor.extent.start, cursor.location) + array


def record(type_):
    """The definition of the struct, class or alias that `type_` names (or refers or points to),
    if it is ours: not of a system header (the standard library's, libevent's)."""
    type_ = type_.get_pointee() if type_.kind in (T.LVALUEREFERENCE, T.POINTER) else type_
    found = type_.get_declaration()
    system = ci.conf.lib.clang_Location_isInSystemHeader  # not in the bindings of clang 14
    system.argtypes, system.restype = [ci.SourceLocation], ctypes.c_int
    if found.kind == K.NO_DECL_FOUND or system(found.location):
        return None
    return found.get_definition() or found


def same(a, b) -> bool:
    return a is not None and b is not None and a == b  # a Cursor compares only with a Cursor


def callee(call):
    return call.referenced.get_definition() if call.referenced is not None else None


@dataclasses.dataclass
class Row:  # one field, or one local variable (a client's run()'s, common/'s)
    owner: str     # where it is declared: "Connection", "common::Connection", "run()"
    type: str      # as written
    name: str
    why: str
    why_from: str  # "" (its own comment), "above" (its run of fields'), "type: <name>\t<file>"


@dataclasses.dataclass
class Place:  # where per-connection state lives
    declaration: str  # "std::map<int, Connection> connections", "Connections connections (...)"
    where: str        # "local:run", "member:Server", "stack:child" or "locals:run"
    grown_by: str     # "do_accept: server.connections.emplace", or ""
    via: str = ""     # a local of common/: "child\tcommon/blocking_server.cpp", who calls it, where


@dataclasses.dataclass
class Record:  # a type whose fields the pages show
    name: str
    base: str  # the type of common/ it derives from, if any
    file: str
    rows: list[Row]
    private: bool = False  # all its fields are private


@dataclasses.dataclass
class Stage:
    name: str
    code: int
    total: int
    includes: list[str]    # the pieces of common/ that main.cpp includes
    places: list[Place]
    comment: str           # the comment on the stage's Connection
    records: list[Record]  # its per-connection types (a client: "run()", its locals)
    shared: list[tuple[str, Record]]  # the common/ type its Connection is or derives from,
    # then that type's fields whose types (of ours) have fields, by field
    key: str = ""  # the registry's key, "02b"


def row(owner: str, cursor, why: str) -> Row:
    """A field or variable, described by `why`, or else by the comment on its type."""
    found = record(cursor.type) if not why else None
    doc = source(found).doc(found.extent.start.line) if found else ""
    return Row(owner, written(cursor), cursor.spelling, why or doc,
               f"type: {found.spelling}\t{path_of(found)}" if doc else "")


def children(cursor, *kinds) -> list:
    return [c for c in cursor.get_children() if c.kind in kinds]


def base_of(definition, main: str):
    """The type of the repository, outside main.cpp, that a struct derives from."""
    bases = [record(c.type) for c in children(definition, K.CXX_BASE_SPECIFIER)]
    return next((b for b in bases if b is not None and str(b.location.file) != main), None)


def fields(definition, name: str = "", main: str = "") -> Record:
    """A struct's data members, its bases' first. A field with no comment of its own, in a run
    of fields (no blank line) that a comment heads, is described by that comment (↑)."""
    bases = [record(c.type) for c in children(definition, K.CXX_BASE_SPECIFIER)]
    rows = [r for base in bases if base is not None for r in fields(base).rows]
    file, owner, own = source(definition), qualified(definition), []
    members = children(definition, K.FIELD_DECL)
    for previous, c in zip([None] + members, members):
        why = file.why(c)
        if not why and previous and previous.extent.end.line + 1 == c.extent.start.line and (
                own[-1].why_from == "above" or (own[-1].why_from == "" and not file.after(previous)
                                                and file.above(previous.extent.start.line))):
            own.append(Row(owner, written(c), c.spelling, "", "above"))
        else:
            own.append(row(owner, c, why))
    base = base_of(definition, main) if main else None
    private = all(c.access_specifier == ci.AccessSpecifier.PRIVATE for c in members)
    return Record(name or owner, qualified(base) if base else "", path_of(definition), rows + own,
                  private)


def named_connection(cursors: list):
    """The stage's type named `Connection`: (its declaration in main.cpp, its definition)."""
    for c in (c for c in cursors if c.spelling == "Connection"):
        if c.kind in RECORDS and c.is_definition():
            return c, c
        if c.kind == K.USING_DECLARATION:  # `using common::Connection;`
            return c, ci.conf.lib.clang_getOverloadedDecl(c.referenced, 0).get_definition()
        if c.kind == K.TYPE_ALIAS_DECL:
            return c, record(c.underlying_typedef_type)
    return None, None


def target(expression):
    """The variable, parameter or member an expression names (`server.connections`)."""
    return next((c.referenced for c in expression.walk_preorder()
                 if c.kind in (K.DECL_REF_EXPR, K.MEMBER_REF_EXPR) and c.referenced is not None
                 and c.referenced.kind in (K.VAR_DECL, K.PARM_DECL, K.FIELD_DECL)), None)


def origins(declaration, calls: list, seen: frozenset = frozenset()) -> list:
    """What a declaration stands for: for a reference parameter, what each call passes it."""
    if declaration is None or declaration.kind != K.PARM_DECL or declaration.hash in seen \
            or declaration.type.kind != T.LVALUEREFERENCE:
        return [declaration] if declaration is not None else []
    function = declaration.semantic_parent
    index = list(function.get_arguments()).index(declaration)
    return [o for call in calls if same(callee(call), function)
            for o in origins(target(list(call.get_arguments())[index]), calls,
                             seen | {declaration.hash})]


def place(declaration, kind: str, grown_by: str = "") -> Place:
    text = f"{written(declaration)} {declaration.spelling}"
    alias = declaration.type.get_declaration()
    if alias.kind == K.TYPE_ALIAS_DECL:  # `using Connections = std::map<int, Connection>;`
        text += f" ({source(alias).text(alias.extent.start, alias.extent.end).split('= ', 1)[1]})"
    return Place(text, f"{kind}:{declaration.semantic_parent.spelling}", grown_by)


def containers(functions: list, calls: dict, main: str, connection,
               serving: list = ()) -> tuple[list, list]:
    """The containers that grow on a connection's path, and the types of ours they hold: on
    accept()'s path, or in `serving`, the functions that serve a connection to its end."""
    reach = [f for f in functions if any(c.spelling == "accept" for c in calls[f.hash])]
    for function in reach:  # who calls accept(), and whom they call, at any depth
        reach += [f for f in functions if f not in reach
                  and any(same(callee(c), f) for c in calls[function.hash])]
    reach += [f for f in serving if f not in reach]
    places, kept, records = [], [], []
    for function in (f for f in functions if f in reach):
        for call in (c for c in calls[function.hash] if c.spelling in GROWS):
            member = next(call.get_children(), None)  # `server.connections.emplace`
            found = origins(target(member), sum(calls.values(), [])) \
                if member is not None and member.kind == K.MEMBER_REF_EXPR else []
            for container in (c for c in found if c not in kept):
                held = container.type.get_canonical()
                if held.get_num_template_arguments() <= 0:
                    continue
                kept.append(container)
                grown = "".join(source(member).text(member.extent.start, member.extent.end).split())
                places.append(place(container, "member" if container.semantic_parent.kind
                                    in RECORDS else "local", f"{function.spelling}: {grown}"))
                elements = [record(held.get_template_argument_type(i))
                            for i in range(held.get_num_template_arguments())]
                records += [e for e in elements if e is not None and e.kind in RECORDS
                            and e not in records
                            and (same(e, connection) or str(e.location.file) == main)]
    return places, records


STATE = ("common::Connection", "common::LineProtocol")  # per-connection state by definition


@functools.cache
def common_functions(path: pathlib.Path, needs: tuple[str, ...]) -> dict:
    """The functions that a file of common/ defines, by their USR (as every file names them)."""
    tops = parse(path, needs).cursor.get_children()
    return {f.get_usr(): f for top in tops if str(top.location.file) == str(path)
            for f in top.walk_preorder() if f.kind in FUNCTIONS and f.is_definition()}


def common_locals(declared, needs: tuple[str, ...]) -> list:
    """The local variables that hold a common::Connection or a common::LineProtocol by value (the
    protocol's state machine is per-connection state by definition) in the definition, in
    common/NAME.cpp, of a function that common/NAME.hpp declares. A file that does not include
    line_protocol.hpp, at any depth, cannot hold one: it is not parsed."""
    header = pathlib.Path(declared.location.file.name) if declared is not None \
        and declared.location.file else None
    path = header and COMMON / f"{header.stem}.cpp"
    if not path or header.parent != COMMON or not path.exists() \
            or "line_protocol" not in closure([header.stem]):
        return []
    function = common_functions(path, needs).get(declared.get_usr())
    return [v for v in function.walk_preorder()  # by value: "common::LineProtocol", not "... &"
            if v.kind == K.VAR_DECL and v.type.get_canonical().spelling in STATE] \
        if function else []


def read_stage(path: pathlib.Path, needs: tuple[str, ...] = (), kind: str = "server") -> Stage:
    """What one stage's main.cpp keeps per connection (chapter/complexity.py says how)."""
    tu, main = parse(path, needs), str(path)
    tops = [c for c in tu.cursor.get_children() if str(c.location.file) == main]
    cursors = [c for top in tops for c in top.walk_preorder()]
    included = [pathlib.Path(c.get_included_file().name) for c in tops
                if c.kind == K.INCLUSION_DIRECTIVE]
    functions = [c for c in cursors if c.kind in FUNCTIONS and c.is_definition()]
    calls = {f.hash: [c for c in f.walk_preorder() if c.kind == K.CALL_EXPR] for f in functions}
    declaration, connection = named_connection(cursors)
    held, found = [], {}  # the state of common/'s functions that the stage's functions call
    for f, c in ((f, c) for f in functions for c in calls[f.hash]):
        found.update({v.hash: (f, v) for v in common_locals(c.referenced, needs)
                      if v.hash not in found})
    # The functions that serve a connection to its end: those that call such a function of
    # common/, and those that call them, up to one that nothing of the stage calls (a thread's).
    serving = [f for f, _ in found.values()]
    for function in serving:
        serving += [g for g in functions if g not in serving and not any(
            c.spelling == "accept" for c in calls[g.hash])
            and any(same(callee(c), function) for c in calls[g.hash])]
    places, records = containers(functions, calls, main, connection, serving)
    for c in cursors:  # a Connection on a function's stack: not a reference, not a pointer
        if c.kind in (K.VAR_DECL, K.PARM_DECL) and c.semantic_parent.kind in FUNCTIONS \
                and c.semantic_parent.is_definition() \
                and c.type.get_canonical().kind == T.RECORD \
                and same(record(c.type.get_canonical()), connection):
            places.append(place(c, "stack"))
            records += [connection] if connection not in records else []
    for function, v in found.values():
        owner = qualified(v.semantic_parent)
        places.append(Place(f"{written(v)} {v.spelling}", f"stack:{owner}", "",
                            f"{function.spelling}\t{path_of(v)}"))
        if v.type.get_canonical().spelling == "common::Connection":
            records.append(record(v.type))  # shown by its fields, as a stage's Connection
            connection = connection or records[-1]
        else:  # the protocol as one field, which its type's comment describes
            held.append(Record(f"{owner}()", "", path_of(v), [row(f"{owner}()", v, "")]))
    shown = [fields(r, "Connection" if same(r, connection) else r.spelling, main)
             for r in records] + held
    if not places and kind == "client":
        run = next(f for f in functions if f.spelling == "run")
        body = children(run, K.COMPOUND_STMT)[0]
        places = [Place("", "locals:run", "")]
        shown = [Record("run()", "", path_of(run), [
            row("run()", v, source(v).why(v)) for s in children(body, K.DECL_STMT)
            for v in children(s, K.VAR_DECL)])]
    if not places:
        raise SystemExit(f"complexity: no per-connection state found in {path}: no container "
                         "that grows on accept()'s path, no `Connection` on a function's stack "
                         "(chapter/complexity.py says what is looked for)")
    common = connection if connection is None or str(connection.location.file) != main \
        else base_of(connection, main)
    shared = [("", fields(common))] if common else []
    for member in children(common, K.FIELD_DECL) if common else ():
        inner = record(member.type)
        if inner is not None and inner.kind in RECORDS and len(children(inner, K.FIELD_DECL)) > 1:
            shared.append((member.spelling, fields(inner)))
    file = lexed(tu, main)
    comment = " ".join(map(words, file.above(declaration.extent.start.line))) \
        if declaration else ""
    return Stage(path.parent.name, file.code_lines, file.total,
                 sorted({p.stem for p in included if p.parent == COMMON}), places, comment, shown,
                 shared)


@functools.cache
def piece_file(path: pathlib.Path) -> tuple[File, set[str]]:
    """A file of common/, read alone: its lines, and the pieces of common/ it includes."""
    tu = parse(path, single_file=True)
    included = {pathlib.Path(c.get_included_file().name) for c in children(
        tu.cursor, K.INCLUSION_DIRECTIVE) if c.get_included_file() is not None}
    return File(tu, str(path)), {p.stem for p in included if p.parent == COMMON}


def piece_files(piece: str) -> list:
    return [p for p in (COMMON / f"{piece}.hpp", COMMON / f"{piece}.cpp") if p.exists()]


def closure(pieces: list[str]) -> list[str]:
    """Every piece of common/ that `pieces` reach through their own includes, but for them."""
    seen, todo = set(pieces), list(pieces)
    while todo:
        found = set().union(*(piece_file(p)[1] for p in piece_files(todo.pop())))
        todo += sorted(found - seen)
        seen |= found
    return sorted(seen - set(pieces))
