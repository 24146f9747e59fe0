// 06-libevent-bufferevent: libevent does the reading and writing; we handle whole lines.
//
// What it teaches
//   In 05 we still did the IO ourselves: recv() into our buffer when libevent said "readable",
//   send() from it when it said "writable", and we kept the events in step with the buffers.
//   A bufferevent does all of that: it owns an input and an output buffer (evbuffers), reads
//   into the first whenever the socket is readable and writes out the second whenever it is
//   writable. We are called with data (readcb), when output has drained (writecb) and when
//   the connection ends or fails (errorcb). The same interface also fits completion-based IO
//   such as Windows IOCP, where the OS does the reading for you.
//   What remains ours: deciding what a line is, and backpressure. A bufferevent buffers
//   without limit, so, like every stage, we stop reading while a client owes us too much.
//
// What to observe
//   Compare the handlers with 05's: no recv(), no send(), no event_add(). Flood it with a
//   client that never reads and watch its memory in `top`: it levels off (the book's version
//   grows by hundreds of megabytes).
//
// Run it
//   build/bin/06-libevent-bufferevent [--bind ADDR] [--port PORT]   then: nc 127.0.0.1 40713
//
// Departures from the book are marked [E06.n], the entries of docs/ERRATA.md.
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <array>
#include <cstddef>
#include <map>
#include <stdexcept>

#include "common/libevent.hpp"
#include "common/line_protocol.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/rot13.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: libevent bufferevents do the IO, we handle lines.";

// Reading stops while kMaxPendingOutput or more is owed (readcb), and resumes once the output
// has drained below this low-water mark (writecb). Half the bound, not just under it: the
// output still holds 32 KiB to send while reading resumes, so a slow reader never waits for
// us, and a flood costs one disable and one enable per 32 KiB read instead of one per send.
// (LineProtocol's stages resume as soon as less than the bound is owed: they decide on every
// read, where a bufferevent calls writecb only at its watermark.)
constexpr std::size_t kResumeReadingBelow = common::kMaxPendingOutput / 2;

struct Server;

// Per-connection state, kept between callbacks: the bufferevent holds the socket and both
// buffers, so all we add is whether the client has ended its input.
struct Connection {
  Server& server;
  common::BufferEventPtr bev;
  bool input_ended = false;  // close once the output has drained
};

// What every callback can reach: the loop, the listener and every open connection.
struct Server {
  event_base* base;
  common::Listener& listener;
  std::map<evutil_socket_t, Connection> connections;
};

// Closes a connection: freeing its bufferevent closes the socket (BEV_OPT_CLOSE_ON_FREE).
void close_connection(Connection& conn) {
  conn.server.connections.erase(bufferevent_getfd(conn.bev.get()));
}

// Answers, one at a time as the book's readcb does, each line of `input` that has ended: at an
// LF, after kMaxLine bytes without one (its answer gains an LF), or, once the input has ended,
// the partial line that is left (answered without one). Returns false if out of memory.
// Departure [E06.3]: the book takes each line with evbuffer_readln(), which mallocs a copy that
// the caller frees. evbuffer_search_eol() finds the same end, and evbuffer_remove() copies the
// line into a buffer on the stack: the same work per line, without a malloc and a free.
bool answer_lines(evbuffer* input, evbuffer* output, bool input_ended) {
  std::array<char, common::kMaxLine + 1> line;  // the longest line, and the LF of its answer
  for (;;) {
    const size_t pending = evbuffer_get_length(input);
    const evbuffer_ptr lf = evbuffer_search_eol(input, nullptr, nullptr, EVBUFFER_EOL_LF);
    size_t n = 0;       // input bytes the line takes, its LF included
    size_t answer = 0;  // bytes of its answer
    if (lf.pos >= 0 && static_cast<size_t>(lf.pos) < common::kMaxLine) {
      n = answer = static_cast<size_t>(lf.pos) + 1;  // a line that ends at an LF
    } else if (pending >= common::kMaxLine) {
      n = common::kMaxLine;  // kMaxLine bytes without an LF: a line too, answered with an LF
      answer = n + 1;
    } else if (input_ended && pending > 0) {
      n = answer = pending;  // the partial line left at end of input
    } else {
      return true;  // nothing, or a partial line: wait for the rest
    }
    if (evbuffer_remove(input, line.data(), n) != static_cast<int>(n)) return false;
    common::rot13_inplace({line.data(), n});  // ROT13 leaves the LF alone
    if (answer > n) line[n] = '\n';
    if (evbuffer_add(output, line.data(), answer) != 0) return false;
  }
}

// Input has arrived: answer what can be answered.
void readcb(bufferevent* bev, void* arg) {
  // Every callback starts by naming what `arg` is, though here only the error path needs it.
  // cppcheck-suppress variableScope
  auto& conn = *static_cast<Connection*>(arg);
  evbuffer* output = bufferevent_get_output(bev);
  if (!answer_lines(bufferevent_get_input(bev), output, false)) {
    common::log("evbuffer: out of memory; closing a connection");
    return close_connection(conn);
  }
  // Departure [E06.1]: stop reading while the client owes too much; writecb resumes. The
  // book's version grows its output buffer without limit under a client that never reads.
  if (evbuffer_get_length(output) >= common::kMaxPendingOutput) bufferevent_disable(bev, EV_READ);
}

// The output has drained to the low-water mark (kResumeReadingBelow, or 0 when closing).
void writecb(bufferevent* bev, void* arg) {
  auto& conn = *static_cast<Connection*>(arg);
  if (conn.input_ended) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) close_connection(conn);
  } else if (!(bufferevent_get_enabled(bev) & EV_READ)) {
    bufferevent_enable(bev, EV_READ);
  }
}

// End of input, or an error on the connection.
void errorcb(bufferevent* bev, short what, void* arg) {
  auto& conn = *static_cast<Connection*>(arg);
  if (what & BEV_EVENT_ERROR) {
    // Departure [E06.4]: say what failed; the book leaves "check errno" as a comment.
    common::log_errno((what & BEV_EVENT_READING) ? "recv" : "send", EVUTIL_SOCKET_ERROR());
    return close_connection(conn);
  }
  if (what & BEV_EVENT_EOF) {
    // Departure [E06.2]: the book frees the bufferevent at once, dropping the partial line and
    // any unsent answers. Answer the rest, then close once the output has drained (writecb).
    conn.input_ended = true;
    evbuffer* output = bufferevent_get_output(bev);
    if (!answer_lines(bufferevent_get_input(bev), output, true) ||
        evbuffer_get_length(output) == 0) {
      return close_connection(conn);
    }
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);  // writecb once everything is sent
  }
}

// The listener is readable: take every connection waiting on it.
// Departure [E06.7]: out of descriptors, accept() closes the waiting connection (see
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
    // Departure [E06.5]: the book's FD_SETSIZE check, copied from 04, is gone: libevent has no
    // such limit (its select backend grows its fd_sets). But Debian builds it with
    // _FORTIFY_SOURCE, whose FD_SET() aborts past FD_SETSIZE: see common::can_watch.
    if (!common::can_watch(server.base, fd.get())) continue;
    const evutil_socket_t key = fd.get();
    common::BufferEventPtr bev(bufferevent_socket_new(server.base, key, BEV_OPT_CLOSE_ON_FREE));
    if (!bev) {
      common::log("bufferevent_socket_new: cannot watch a new connection; closing it");
      continue;  // `fd` still owns the socket and closes it
    }
    (void)fd.release();  // the bufferevent owns the socket now
    auto [it, added] = server.connections.emplace(key, Connection{server, std::move(bev)});
    bufferevent* b = it->second.bev.get();
    bufferevent_setcb(b, readcb, writecb, errorcb, &it->second);
    // As in the book, libevent stops reading while kMaxLine bytes wait in the input, so the
    // input never holds more than one full line.
    bufferevent_setwatermark(b, EV_READ, 0, common::kMaxLine);
    bufferevent_setwatermark(b, EV_WRITE, kResumeReadingBelow, 0);
    if (bufferevent_enable(b, EV_READ | EV_WRITE) < 0) {
      common::log("bufferevent_enable: cannot watch a new connection; closing it");
      server.connections.erase(it);
    }
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
  // Unlike the book, every call is checked ("XXX check it"). The same lines as 05's, written
  // out rather than kept in common/: the book's version repeats them too, and the diff from 05
  // then shows only what bufferevents change.
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
}  // Departure [E06.6]: everything is freed on the way out: bufferevents, events, the loop.

}  // namespace

// Departure [E06.8]: SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
