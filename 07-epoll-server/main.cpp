// 07-epoll-server: what libevent does for us on Linux, written out with epoll.
//
// What it teaches
//   05 handed readiness to libevent, which on Linux picks epoll. This bonus stage calls epoll
//   itself, to show what that costs in code and what it saves in time. select() (04) takes the
//   whole set of descriptors on every call and scans it; epoll keeps the set in the kernel:
//   epoll_ctl() adds a descriptor or changes what we wait for, once, and epoll_wait() returns
//   only the descriptors that are ready. Registering is O(1), a wakeup is O(ready descriptors),
//   and there is no FD_SETSIZE. The handlers are 04's and 05's; what changes is the bookkeeping
//   libevent did for us: one registration per socket, and its interest kept in step with the
//   connection (settle(), here with epoll_ctl instead of event_add and event_del).
//
//   Level-triggered, not edge-triggered: epoll keeps reporting a socket for as long as it is
//   readable (or writable), exactly like select(), poll() and libevent's default. So one recv()
//   per wakeup is enough (whatever is left is reported again), the handlers stay those of 04
//   and 05, and a connection can never be forgotten because a wakeup was missed. Since EPOLLOUT
//   is asked for only while answers are pending, level-triggering costs no extra wakeups here;
//   edge-triggering would save a few epoll_ctl() calls under backpressure, at the price of
//   draining every socket until EAGAIN and a subtler failure mode.
//
// What to observe
//   `strace -p $(pgrep 07-epoll)`: epoll_wait() returns a handful of ready descriptors, and
//   epoll_ctl() appears only when a connection is accepted or its needs change.
//   docs/bench.md measures it beside libevent: the cost of libevent's abstraction.
//
// Run it
//   build/bin/07-epoll-server [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <map>
#include <span>

#include "common/check.hpp"
#include "common/connection_io.hpp"
#include "common/line_protocol.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: raw epoll, level-triggered (what libevent does on Linux).";

// How many ready descriptors one epoll_wait() may report; more wait for the next call.
constexpr int kMaxEvents = 256;

// Per-connection state, kept between wakeups: 04's (the socket and its protocol state) plus the
// interest epoll holds for the socket, so that epoll_ctl() is called only when it changes.
struct Connection : common::Connection {
  std::uint32_t interest = 0;  // EPOLLIN and/or EPOLLOUT, as last told to epoll
};

// What every handler can reach: the epoll instance, the listener and every open connection. While
// the loop runs, a Connection is erased only by settle(), the last call of a handler, and its
// socket closes only then: no handler touches it afterwards, and no number is in the table twice.
struct Server {
  common::Fd epoll;
  common::Listener& listener;
  std::map<int, Connection> connections;
};

// Adds `fd` to the epoll set, waiting for `interest`.
bool add(Server& server, int fd, std::uint32_t interest) {
  epoll_event event{};
  event.events = interest;
  event.data.fd = fd;
  if (epoll_ctl(server.epoll.get(), EPOLL_CTL_ADD, fd, &event) == 0) return true;
  common::log_errno("epoll_ctl ADD");
  return false;
}

// After a handler: close a connection that failed or has finished; otherwise tell epoll what it
// waits for now, if that changed. Closing the socket also takes it out of the epoll set.
void settle(Server& server, std::map<int, Connection>::iterator it, bool ok) {
  Connection& conn = it->second;
  if (ok && !conn.protocol.finished()) {
    const std::uint32_t wanted =
        (conn.protocol.wants_read() ? EPOLLIN : 0U) | (conn.protocol.wants_write() ? EPOLLOUT : 0U);
    if (wanted == conn.interest) return;
    epoll_event event{};
    event.events = wanted;
    event.data.fd = it->first;
    if (epoll_ctl(server.epoll.get(), EPOLL_CTL_MOD, it->first, &event) == 0) {
      conn.interest = wanted;
      return;
    }
    common::log_errno("epoll_ctl MOD");
  }
  server.connections.erase(it);
}

// The socket is readable: read what has arrived and answer at once.
bool do_read(Connection& conn) { return common::read_and_answer(conn); }

// The socket is writable: send what is still owed.
bool do_write(Connection& conn) { return common::send_owed(conn); }

// The listener is readable: take every connection waiting on it.
void do_accept(Server& server) {
  while (common::Fd fd = server.listener.accept(common::Mode::kNonBlocking)) {
    const int key = fd.get();
    auto [it, added] = server.connections.emplace(key, Connection{{std::move(fd), {}}, EPOLLIN});
    COMMON_ASSERT(added, "a new connection's descriptor is already in the table");
    if (!add(server, key, EPOLLIN)) settle(server, it, false);  // closes it
  }
}

// A connection's socket is ready: read and/or write, then settle it.
void serve(Server& server, const epoll_event& event) {
  // Looked up by descriptor, not by pointer: a connection closed earlier in this batch is
  // simply not found (and a new one that got its number merely finds nothing to read).
  const auto it = server.connections.find(event.data.fd);
  if (it == server.connections.end()) return;
  bool ok = true;
  // EPOLLERR and EPOLLHUP come unasked, even while reading is paused: recv() then reports
  // the end of the connection (or what is left before it), so it cannot be reported forever.
  if (event.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ok = do_read(it->second);
  if (ok && (event.events & EPOLLOUT)) ok = do_write(it->second);
  settle(server, it, ok);
}

void run(common::Listener& listener) {
  common::set_nonblocking(listener.fd());  // a wakeup may find the connection already gone
  Server server{common::Fd(epoll_create1(EPOLL_CLOEXEC)), listener, {}};
  if (!server.epoll) common::throw_errno("epoll_create1");
  if (!add(server, listener.fd(), EPOLLIN) || !add(server, common::stop_fd(), EPOLLIN)) {
    common::throw_errno("epoll_ctl: cannot watch the listener");
  }
  std::array<epoll_event, kMaxEvents> events{};
  for (;;) {
    // Sleep until something is ready; the kernel hands back only the ready descriptors.
    const int ready = epoll_wait(server.epoll.get(), events.data(), kMaxEvents, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;  // a signal; if it was a stop, stop_fd() is readable now
      common::throw_errno("epoll_wait");
    }
    for (const epoll_event& event : std::span(events.data(), static_cast<size_t>(ready))) {
      const int fd = event.data.fd;
      if (fd == common::stop_fd()) return;
      if (fd == listener.fd()) {
        do_accept(server);
      } else {
        serve(server, event);
      }
    }
  }
}

}  // namespace

// SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
