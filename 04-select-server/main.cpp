// 04-select-server: one process sleeps in select() until some socket is ready.
//
// What it teaches
//   03 asked every socket, every pass, whether anything had happened, and burned a CPU doing
//   it. select() lets the kernel answer that question: we hand it sets of descriptors (those we
//   want to read from, those we want to write to), it sleeps until at least one is ready, and
//   it hands back only the ready ones. Idle, this server uses no CPU at all.
//   Two costs remain. The sets are bit arrays indexed by descriptor number, rebuilt and scanned
//   on every call, so each wakeup costs time in proportion to the largest descriptor, however
//   few are active. And the arrays have a fixed size, FD_SETSIZE (1024): a descriptor numbered
//   1024 or more cannot be watched at all, so this server refuses such connections.
//
// What to observe
//   `strace -p $(pgrep 04-select)`: each select() call lists the descriptors it watches, and
//   returns only when one is ready. With a thousand idle clients connected, every wakeup for
//   one active client still walks all thousand (measured in docs/bench.md).
//
// Run it
//   build/bin/04-select-server [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
//
// Departures from the book are marked [E04.n], the entries of docs/ERRATA.md.
#include <sys/select.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <map>
#include <string>

#include "common/connection_io.hpp"
#include "common/line_protocol.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: one process, select() waits until a socket is ready.";

// Per-connection state (common::Connection: the socket and its protocol state), kept between
// wakeups, by descriptor.
using common::Connection;
using Connections = std::map<int, Connection>;

// The socket is readable: read what has arrived and answer at once.
// Departure [E04.2]: common::LineProtocol, not the book's fixed buffer that drops bytes.
bool do_read(Connection& conn) { return common::read_and_answer(conn); }

// The socket is writable: send what is still owed.
bool do_write(Connection& conn) { return common::send_owed(conn); }

// The listener is readable: take every connection waiting on it.
// Departure [E04.6]: out of descriptors, accept() closes the waiting connection (see
// common::Listener::accept) where the book's loop spins on a listener that stays readable.
void do_accept(common::Listener& listener, Connections& connections) {
  while (common::Fd fd = listener.accept(common::Mode::kNonBlocking)) {
    // Departure [E04.1]: the book tests fd > FD_SETSIZE, letting descriptor 1024 through to
    // write past the end of the fd_set. Such a descriptor cannot be watched: refuse it.
    if (fd.get() >= FD_SETSIZE) {
      common::log("refusing a connection: descriptor " + std::to_string(fd.get()) +
                  " is past FD_SETSIZE (" + std::to_string(FD_SETSIZE) + ")");
      continue;  // `fd` closes here
    }
    const int key = fd.get();
    connections.emplace(key, Connection{std::move(fd), {}});
  }
}

// The whole select() loop in one function, top to bottom, is the lesson: not split to please
// a complexity metric.
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
void run(common::Listener& listener) {
  common::set_nonblocking(listener.fd());  // a wakeup may find the connection already gone
  Connections connections;
  for (;;) {
    // Rebuild the sets on every pass: select() overwrites them with its answer.
    fd_set readset;
    fd_set writeset;
    FD_ZERO(&readset);
    FD_ZERO(&writeset);
    FD_SET(listener.fd(), &readset);
    FD_SET(common::stop_fd(), &readset);  // SIGINT/SIGTERM make it readable
    int maxfd = std::max(listener.fd(), common::stop_fd());
    for (const auto& [fd, conn] : connections) {
      // Departure [E04.3]: a connection that owes too much leaves the read set until its
      // client reads; the book always reads, and drops what does not fit its buffer.
      if (conn.protocol.wants_read()) FD_SET(fd, &readset);
      // Only connections with answers pending wait for writability, or select() would return
      // at once, every time, for every idle socket.
      if (conn.protocol.wants_write()) FD_SET(fd, &writeset);
      maxfd = std::max(maxfd, fd);
    }

    // Sleep until something is ready. The kernel scans descriptors 0 to maxfd: the cost of each
    // call grows with the largest descriptor, not with the number of busy ones.
    if (select(maxfd + 1, &readset, &writeset, nullptr, nullptr) < 0) {
      // Departure [E04.5]: the book gives up on any failure, EINTR included.
      if (errno == EINTR) continue;  // a signal; if it was a stop, stop_fd() is readable now
      common::throw_errno("select");
    }
    if (FD_ISSET(common::stop_fd(), &readset)) return;

    for (auto it = connections.begin(); it != connections.end();) {
      Connection& conn = it->second;
      bool ok = true;
      if (FD_ISSET(it->first, &readset)) ok = do_read(conn);
      if (ok && FD_ISSET(it->first, &writeset)) ok = do_write(conn);
      // Departure [E04.4]: at end of input the book closes at once; we close only once every
      // answer owed has been sent.
      it = ok && !conn.protocol.finished() ? std::next(it) : connections.erase(it);
    }
    if (FD_ISSET(listener.fd(), &readset)) do_accept(listener, connections);
  }
}

}  // namespace

// Departure [E04.7]: SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
