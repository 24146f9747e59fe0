"""scripts/complexity's reader of C++ (chapter/complexity_cpp.py), on a small server written for the
test: where it finds per-connection state, and which comment describes each field."""
from __future__ import annotations

import pytest

from chapter import complexity_cpp as cpp

SERVER = """\
#include <sys/socket.h>

#include <map>
#include <vector>

namespace {

// What every connection has.
struct Base {
  int fd = -1;  // the connected socket
};

/// @brief Bytes on their way. A second sentence, not quoted.
struct Buffer {
  std::vector<char> bytes;
};

// Per-connection state: the base's, and a buffer.
struct Connection : Base {
  Buffer in;
  // Counters, a run of fields that this comment heads.
  int received = 0;
  int sent = 0;

  bool closing = false;
};

struct Server {
  std::map<int, Connection> connections;
};

void add(Server& server, int fd) { server.connections.emplace(fd, Connection{}); }

void do_accept(Server& server, int listener, std::vector<int>& accepted) {
  const int fd = accept(listener, nullptr, nullptr);
  accepted.push_back(fd);
  add(server, fd);
}

void serve(int fd) {
  Connection conn;  /* on the stack */
  conn.fd = fd;
}

}  // namespace

int main() {
  Server server;
  std::vector<int> accepted;
  do_accept(server, 3, accepted);
  serve(4);
}
"""


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> cpp.Stage:
    path = tmp_path_factory.mktemp("server") / "main.cpp"
    path.write_text(SERVER)
    return cpp.read_stage(path)


def test_a_container_that_grows_on_accepts_path_holds_the_connections(stage):
    assert cpp.Place("std::map<int, Connection> connections", "member:Server",
                     "add: server.connections.emplace") in stage.places


def test_a_reference_parameter_stands_for_what_its_callers_pass(stage):
    assert cpp.Place("std::vector<int> accepted", "local:main",
                     "do_accept: accepted.push_back") in stage.places


def test_a_connection_held_by_value_in_a_function_is_on_its_stack(stage):
    assert stage.places[-1] == cpp.Place("Connection conn", "stack:serve", "")


def test_the_stage_says_what_its_connection_is_in_the_comment_above_it(stage):
    assert stage.comment == "Per-connection state: the base's, and a buffer."


def test_each_field_is_described_by_its_own_comment_its_runs_or_its_types(stage):
    [connection] = stage.records
    assert connection.base == ""  # its base is the stage's own, not a type of common/
    assert [(r.owner, r.type, r.name, r.why, r.why_from) for r in connection.rows] == [
        ("Base", "int", "fd", "the connected socket", ""),
        ("Connection", "Buffer", "in", "Bytes on their way.", f"type: Buffer\t{connection.file}"),
        ("Connection", "int", "received", "Counters, a run of fields that this comment heads.", ""),
        ("Connection", "int", "sent", "", "above"),
        ("Connection", "bool", "closing", "", ""),  # a blank line ends the run
    ]


def test_code_lines_leave_out_blank_lines_and_comments(stage):
    assert (stage.code, stage.total) == (36, SERVER.count("\n"))
    assert stage.shared == []  # its Connection derives from no type of common/


def test_a_file_that_does_not_compile_stops_the_command(tmp_path):
    path = tmp_path / "main.cpp"
    path.write_text("struct Connection { Missing field; };\n")
    with pytest.raises(SystemExit, match="(?s)libclang cannot parse .*unknown type name 'Missing'"):
        cpp.read_stage(path)


def test_a_server_with_no_per_connection_state_found_stops_the_command(tmp_path):
    path = tmp_path / "main.cpp"
    path.write_text("int main() { return 0; }\n")
    with pytest.raises(SystemExit, match="no per-connection state found"):
        cpp.read_stage(path)


def test_a_line_protocol_on_the_stack_of_a_function_of_common_is_per_connection_state(
        tmp_path, monkeypatch):
    common = tmp_path / "common"  # the stage's `#include "common/..."` finds these first
    common.mkdir()
    (common / "line_protocol.hpp").write_text(
        "#pragma once\n#include <vector>\nnamespace common {\n"
        "/// @brief One connection's side of the protocol.\n"
        "class LineProtocol {\n  std::vector<char> buffer_;  // what is owed\n};\n}\n")
    (common / "serve.hpp").write_text("#pragma once\nnamespace common {\nvoid serve(int fd);\n}\n")
    (common / "serve.cpp").write_text(
        '#include "serve.hpp"\n#include "line_protocol.hpp"\n'
        "namespace common {\nvoid serve(int fd) {\n  int n = fd;\n  LineProtocol protocol;\n}\n}\n")
    (tmp_path / "main.cpp").write_text(
        '#include "common/serve.hpp"\nvoid child(int fd) { common::serve(fd); }\n'
        "int main() { child(3); }\n")
    monkeypatch.setattr(cpp, "COMMON", common)
    stage = cpp.read_stage(tmp_path / "main.cpp")
    assert stage.places == [cpp.Place("LineProtocol protocol", "stack:common::serve", "",
                                      f"child\t{common / 'serve.cpp'}")]
    [held] = stage.records  # the protocol as one field, described by its type's comment
    assert [(r.owner, r.type, r.name, r.why) for r in held.rows] == [
        ("common::serve()", "LineProtocol", "protocol", "One connection's side of the protocol.")]
