// 05-libevent-events: libevent waits for readiness and calls us back.
//
// What it teaches
//   04 rebuilt its fd_sets on every pass and the kernel scanned them up to the largest
//   descriptor. Linux has better interfaces (epoll), the BSDs others (kqueue), and none is
//   portable. libevent hides them behind one: we register an event per socket once ("call
//   do_read when this descriptor is readable") and its loop calls us back when it is. With
//   epoll underneath, registering costs O(1) and a wakeup costs O(ready sockets), not
//   O(largest descriptor), and there is no FD_SETSIZE: the book's check for it, copied from
//   the select version, is gone here, and that removal is part of the lesson.
//   The state machine is the same as in 04; what changes is who remembers what we wait for.
//   04 recomputed it every pass; here the event loop keeps it, and settle() updates it only
//   when a connection's needs change.
//
// What to observe
//   The server logs its backend at start: `using libevent ... with the epoll backend`. Run it
//   with EVENT_NOEPOLL=1 (poll) or EVENT_NOEPOLL=1 EVENT_NOPOLL=1 (select): same behaviour.
//   `strace -p $(pgrep 05-libevent)`: epoll_wait() returns only the ready descriptors.
//
// Run it
//   build/bin/05-libevent-events [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
//
// Departures from the book are marked [E05.n], the entries of docs/ERRATA.md.
#include <event2/event.h>

#include <map>
#include <stdexcept>

#include "common/check.hpp"
#include "common/connection_io.hpp"
#include "common/libevent.hpp"
#include "common/line_protocol.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: libevent events (epoll, poll or select underneath).";

struct Server;

// Per-connection state, kept between callbacks: 04's (the socket and its protocol state) plus
// the two events that watch the socket. Members are destroyed before the base class: the events
// leave the loop before the descriptor they watch is closed.
struct Connection : common::Connection {
  Server& server;
  common::EventPtr read_event;   // calls do_read while the connection may read
  common::EventPtr write_event;  // calls do_write while it owes answers
};

// What every callback can reach: the loop, the listener and every open connection. While
// the loop runs, a Connection is erased only by settle(), the last call of a callback, and its
// socket closes only then: no callback touches it afterwards, and no number is in the table twice.
struct Server {
  event_base* base;
  common::Listener& listener;
  std::map<evutil_socket_t, Connection> connections;
};

// Puts `ev` in the loop if `wanted`, takes it out otherwise; false if libevent refuses.
bool watch(event* ev, bool wanted) {
  return (wanted ? event_add(ev, nullptr) : event_del(ev)) == 0;
}

// After a callback: close a connection that failed or has finished; otherwise tell the loop
// what to wait for next. Departure [E05.3]: the book never stops reading a client that owes too
// much (and drops what overflows its buffer). Departure [E05.5]: at end of input the book frees
// the connection at once; finished() waits until every answer is sent.
void settle(Connection& conn, bool ok) {
  if (ok && !conn.protocol.finished()) {
    if (watch(conn.read_event.get(), conn.protocol.wants_read()) &&
        watch(conn.write_event.get(), conn.protocol.wants_write())) {
      return;
    }
    common::log("event_add: cannot watch a connection; closing it");
  }
  // Departure [E05.2]: the book frees the events but never closes the socket, so its clients
  // never see end of file. Erasing the Connection frees both events, then closes the socket.
  conn.server.connections.erase(conn.fd.get());
}

// The socket is readable: read what has arrived and answer at once.
void do_read(evutil_socket_t /*fd*/, short /*events*/, void* arg) {
  auto& conn = *static_cast<Connection*>(arg);
  settle(conn, common::read_and_answer(conn));
}

// The socket is writable: send what is still owed.
void do_write(evutil_socket_t /*fd*/, short /*events*/, void* arg) {
  auto& conn = *static_cast<Connection*>(arg);
  settle(conn, common::send_owed(conn));
}

// The listener is readable: take every connection waiting on it.
// Departure [E05.6]: out of descriptors, accept() closes the waiting connection (see
// common::Listener::accept) where the book's loop spins on a listener that stays readable.
void do_accept(evutil_socket_t /*listener*/, short /*events*/, void* arg) {
  auto& server = *static_cast<Server*>(arg);
  while (common::Fd fd = server.listener.accept(common::Mode::kBlocking)) {
    // As in the book, libevent's portable call makes the socket non-blocking (fcntl() here,
    // ioctlsocket() on Windows).
    if (evutil_make_socket_nonblocking(fd.get()) < 0) {
      common::log_errno("evutil_make_socket_nonblocking: closing a connection",
                        EVUTIL_SOCKET_ERROR());
      continue;
    }
    // Departure [E05.1]: the book's FD_SETSIZE check, copied from 04, is gone: libevent has no
    // such limit (its select backend grows its fd_sets). But Debian builds it with
    // _FORTIFY_SOURCE, whose FD_SET() aborts past FD_SETSIZE: see common::can_watch.
    if (!common::can_watch(server.base, fd.get())) continue;
    const evutil_socket_t key = fd.get();
    auto [it, added] =
        server.connections.emplace(key, Connection{{std::move(fd), {}}, server, {}, {}});
    COMMON_ASSERT(added, "a new connection's descriptor is already in the table");
    Connection& conn = it->second;  // its address stays valid until it is erased
    conn.read_event.reset(event_new(server.base, key, EV_READ | EV_PERSIST, do_read, &conn));
    conn.write_event.reset(event_new(server.base, key, EV_WRITE | EV_PERSIST, do_write, &conn));
    const bool ok = conn.read_event && conn.write_event;
    if (!ok) common::log("event_new: cannot watch a new connection; closing it");
    settle(conn, ok);  // starts reading, or closes it
  }
}

// The stop pipe is readable: SIGINT or SIGTERM arrived. Leave the loop; run() frees the rest.
void on_stop(evutil_socket_t /*fd*/, short /*events*/, void* arg) {
  event_base_loopbreak(static_cast<event_base*>(arg));
}

void run(common::Listener& listener) {
  // Non-blocking, as in the book: a wakeup may find the connection already gone.
  if (evutil_make_socket_nonblocking(listener.fd()) < 0) {
    common::throw_errno("evutil_make_socket_nonblocking", EVUTIL_SOCKET_ERROR());
  }
  common::EventBasePtr base = common::new_event_base();
  Server server{base.get(), listener, {}};  // destroyed before `base`: connections first
  // As in the book: an event that calls do_accept whenever the listener is readable, armed
  // until it is freed (EV_PERSIST); and one that calls on_stop when a stop is requested.
  // Unlike the book, every call is checked ("XXX check it").
  common::EventPtr accept_event(
      event_new(base.get(), listener.fd(), EV_READ | EV_PERSIST, do_accept, &server));
  common::EventPtr stop_event(
      event_new(base.get(), common::stop_fd(), EV_READ, on_stop, base.get()));
  if (!accept_event || !stop_event || event_add(accept_event.get(), nullptr) < 0 ||
      event_add(stop_event.get(), nullptr) < 0) {
    throw std::runtime_error("event_new/event_add: cannot watch the listener");
  }
  // The loop: it sleeps until a watched socket is ready and calls its callback, until on_stop.
  if (event_base_dispatch(base.get()) < 0) throw std::runtime_error("event_base_dispatch failed");
}  // Departure [E05.4]: everything is freed on the way out: events, connections, then the loop.

}  // namespace

// Departure [E05.7]: SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
