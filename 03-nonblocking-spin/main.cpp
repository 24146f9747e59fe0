// 03-nonblocking-spin: non-blocking sockets and no way to wait: try everything, forever.
//
// What it teaches
//   02 spent a whole process on each client because a blocking call can wait on only one
//   socket. Make every socket non-blocking and one process can serve them all: a call that
//   cannot finish now fails at once with EAGAIN instead of waiting. But nothing here says *which*
//   socket is ready, so the loop asks each one, every pass, whether anything happened. With
//   nothing to do it still spins at full speed: this server burns a whole CPU while idle, and
//   each pass costs a system call per connection whether it has data or not.
//
// What to observe
//   Start it and connect a few idle clients, then run `top -p $(pgrep 03-nonblocking)`: about
//   100% CPU doing nothing. `strace -c -p $(pgrep 03-nonblocking)` for a second: hundreds of
//   thousands of accept() and recvfrom() calls, nearly all failing with EAGAIN.
//
// Run it
//   build/bin/03-nonblocking-spin [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
//
// The book shows only this loop, for reading; here it is a complete server that obeys
// docs/protocol.md like every other stage (end of input, the 16384-byte split, bounded output).
#include <iterator>
#include <map>

#include "common/connection_io.hpp"
#include "common/line_protocol.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: non-blocking sockets polled in a busy loop (burns a CPU by design).";

// Per-connection state (common::Connection: the socket and its protocol state). In 02 it lived
// on each child's stack; one process serving every client keeps it per connection, by descriptor.
using common::Connection;
using Connections = std::map<int, Connection>;

// Reads whatever has arrived and answers at once. EAGAIN (nothing there) is the usual outcome.
bool do_read(Connection& conn) { return common::read_and_answer(conn); }

// Sends what is still owed. EAGAIN (the kernel's buffer is full) means: try again next pass.
bool do_write(Connection& conn) { return common::send_owed(conn); }

// Takes every connection waiting on the listener; EAGAIN ends the round.
void do_accept(common::Listener& listener, Connections& connections) {
  while (common::Fd fd = listener.accept(common::Mode::kNonBlocking)) {
    const int key = fd.get();
    connections.emplace(key, Connection{std::move(fd), {}});
  }
}

void run(common::Listener& listener) {
  common::set_nonblocking(listener.fd());  // accept() must never wait either
  Connections connections;
  // The loop never sleeps: each pass tries every socket whether or not anything happened.
  while (!common::stop_requested()) {
    do_accept(listener, connections);
    for (auto it = connections.begin(); it != connections.end();) {
      Connection& conn = it->second;
      bool ok = true;
      if (conn.protocol.wants_read()) ok = do_read(conn);
      if (ok && conn.protocol.wants_write()) ok = do_write(conn);
      // A failed connection, or one whose input ended and whose answers are all sent, closes.
      it = ok && !conn.protocol.finished() ? std::next(it) : connections.erase(it);
    }
  }
}

}  // namespace

// SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
