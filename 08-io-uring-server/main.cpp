// 08-io-uring-server: completion IO on Linux: we say what to do, the kernel says when it is done.
//
// What it teaches
//   Every stage so far asked the kernel about readiness ("tell me when this socket is readable")
//   and then made the recv() or send() itself. The chapter ends on the other model, Windows'
//   IOCP, where you hand the kernel the work ("receive into this buffer", "send these bytes")
//   and it tells you when each is done. io_uring is Linux's version: two rings shared with the
//   kernel, one of submissions (SQEs) and one of completions (CQEs). We queue an accept, a recv
//   per connection and a send whenever answers are owed; one io_uring_enter() both submits them
//   and waits; each completion carries the number of bytes moved, or an error, and the
//   user_data we gave its submission, which says which connection and which operation it was.
//   The protocol is the same LineProtocol as in 04, 05 and 07; what changes is that a buffer
//   handed to the kernel belongs to the kernel until its completion arrives.
//
//   Kept simple on purpose (single-shot operations, one recv and at most one send in flight
//   per connection): two sends in flight on one stream socket could be completed out of order
//   under backpressure, and a buffer under a send in flight must not move. Multishot accept and
//   recv with provided buffers are the exercise of the guide.
//
// What to observe
//   `strace -f -c -p $(pgrep 08-io-uring)` while a client talks: io_uring_enter() (and a close()
//   per connection), where 07 makes an epoll_wait(), a recv() and a send() per round trip.
//
// Run it
//   build/bin/08-io-uring-server [--bind ADDR] [--port PORT]     then: nc 127.0.0.1 40713
#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "common/connection_io.hpp"
#include "common/line_protocol.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"
#include "common/uring.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: io_uring, completion-based IO (the IOCP model on Linux).";

// Submission ring entries: when the ring is full, what is queued is submitted to make room
// (see next_sqe()). Completions get a ring of their own, with room for a recv and a send
// completing at once on each of the benchmarks' 10000 idle connections (at a stop, say), so that
// the kernel rarely has to hold completions back for want of room.
constexpr unsigned kRingEntries = 256;
constexpr unsigned kCompletionEntries = 32768;

// What a completion is about: its submission's user_data is (descriptor << 3) | operation.
enum Operation : std::uint64_t { kAccept, kListenerReadable, kRecv, kSend, kStop };
constexpr std::uint64_t tag(int fd, Operation op) { return std::uint64_t(fd) << 3 | op; }

// Per-connection state, kept between completions: 04's (the socket and its protocol state) plus
// the buffers lent to the kernel and which operations are in flight. A connection is freed only
// when nothing of it is in flight: the kernel may still be writing into `in` or reading `out`.
struct Connection : common::Connection {
  // A recv in flight receives into this: lent to the kernel even while the client is idle, a
  // buffer per connection that readiness IO does without (the guide's exercise removes it).
  // Not zeroed: its pages become resident only as the kernel writes into them.
  std::unique_ptr<char[]> in = std::make_unique_for_overwrite<char[]>(common::kMaxLine);
  // The bytes of the send in flight, copied from the protocol's output, which may move when new
  // input arrives before the send completes.
  std::vector<char> out;
  std::size_t out_sent = 0;  // bytes of `out` already sent
  bool receiving = false;    // a recv is in flight
  bool sending = false;      // a send is in flight
  bool failed = false;       // close once nothing is in flight
};

// What every handler can reach: the ring, the listener and every open connection. Members are
// destroyed in reverse: the connections close before the ring goes.
struct Server {
  explicit Server(common::Listener& l) : listener(l) {}
  ~Server();  // cancels and reaps what is in flight (cancel_all())
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  common::Ring uring{kRingEntries, kCompletionEntries};  // checks that io_uring is usable here
  io_uring& ring = *uring.get();
  common::Listener& listener;
  std::map<int, Connection> connections;
  unsigned in_flight = 0;  // submitted operations whose completion has not been reaped
};

// A free submission entry; if the ring is full, submits what is queued first.
io_uring_sqe* next_sqe(Server& server) {
  io_uring_sqe* sqe = io_uring_get_sqe(&server.ring);
  if (!sqe) {
    if (const int err = io_uring_submit(&server.ring); err < 0) {
      common::throw_errno("io_uring_submit", -err);
    }
    sqe = io_uring_get_sqe(&server.ring);
  }
  if (!sqe) throw std::runtime_error("io_uring_get_sqe: the submission ring stays full");
  ++server.in_flight;
  return sqe;
}

// Asks the kernel for a readiness report, the one kind of operation readiness IO is made of: we
// use it for the stop pipe, and for the listener when out of descriptors (see do_accept()).
void submit_poll(Server& server, int fd, Operation op) {
  io_uring_sqe* sqe = next_sqe(server);
  io_uring_prep_poll_add(sqe, fd, POLLIN);
  io_uring_sqe_set_data64(sqe, tag(fd, op));
}

// Asks the kernel to accept the next connection, and to tell us its descriptor.
void submit_accept(Server& server) {
  io_uring_sqe* sqe = next_sqe(server);
  io_uring_prep_accept(sqe, server.listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(server.listener.fd(), kAccept));
}

// Asks the kernel to receive into the connection's buffer, and to tell us when it has.
void submit_recv(Server& server, Connection& conn) {
  io_uring_sqe* sqe = next_sqe(server);
  io_uring_prep_recv(sqe, conn.fd.get(), conn.in.get(), common::kMaxLine, 0);
  io_uring_sqe_set_data64(sqe, tag(conn.fd.get(), kRecv));
  conn.receiving = true;
}

// Asks the kernel to send what is left of `out`, and to tell us how much it sent.
void submit_send(Server& server, Connection& conn) {
  io_uring_sqe* sqe = next_sqe(server);
  io_uring_prep_send(sqe, conn.fd.get(), conn.out.data() + conn.out_sent,
                     conn.out.size() - conn.out_sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(conn.fd.get(), kSend));
  conn.sending = true;
}

// Bytes the client is owed: answers not yet handed to a send, and the rest of the send in flight.
std::size_t owed(const Connection& conn) {
  return conn.protocol.pending_output().size() + (conn.out.size() - conn.out_sent);
}

// After a completion: queue what the connection needs next, or free it once it has finished or
// failed and nothing of it is in flight.
void settle(Server& server, std::map<int, Connection>::iterator it) {
  Connection& conn = it->second;
  if (!conn.failed) {
    // One send at a time: the rest of a short send goes first, then the next batch of answers.
    if (!conn.sending && conn.out.empty() && conn.protocol.wants_write()) {
      const auto pending = conn.protocol.pending_output();
      conn.out.assign(pending.begin(), pending.end());
      conn.protocol.on_output_sent(pending.size());  // handed over: `out` holds them now
    }
    if (!conn.sending && !conn.out.empty()) submit_send(server, conn);
    // Backpressure: no new recv while the client owes too much; a send completion resumes it.
    if (!conn.receiving && conn.protocol.wants_read() && owed(conn) < common::kMaxPendingOutput) {
      submit_recv(server, conn);
    }
  }
  if (conn.receiving || conn.sending) return;
  if (conn.failed || conn.protocol.finished()) server.connections.erase(it);
}

// A connection failed: stop what is in flight (a shutdown completes a waiting recv or send at
// once), and free it when the last completion arrives.
void fail(Connection& conn, const char* what, int err) {
  common::log_errno(what, err);
  conn.failed = true;
  (void)::shutdown(conn.fd.get(), SHUT_RDWR);  // fails only if the client left first
}

// A recv completed: `result` bytes arrived in `in` (0: the client ended its input).
void do_read(Connection& conn, int result) {
  conn.receiving = false;
  if (result > 0) {
    conn.protocol.on_input({conn.in.get(), static_cast<std::size_t>(result)});
  } else if (result == 0) {
    conn.protocol.on_end_of_input();
  } else if (!conn.failed) {
    fail(conn, "recv", -result);
  }
}

// A send completed: `result` bytes of `out` went to the kernel's buffer.
void do_write(Connection& conn, int result) {
  conn.sending = false;
  if (result < 0) {
    if (!conn.failed) fail(conn, "send", -result);
    return;
  }
  conn.out_sent += static_cast<std::size_t>(result);
  if (conn.out_sent < conn.out.size()) return;  // a short send: settle() sends the rest
  conn.out.clear();                             // all sent: settle() takes the next batch
  conn.out_sent = 0;
}

// A new connection: keep it, and start receiving.
void add_connection(Server& server, common::Fd fd) {
  const int key = fd.get();
  auto [it, added] = server.connections.emplace(key, Connection{});
  it->second.fd = std::move(fd);
  settle(server, it);
}

// An accept completed: `result` is the new connection's descriptor, or an error.
void do_accept(Server& server, int result) {
  if (result >= 0) {
    add_connection(server, common::Fd(result));
  } else if (result == -EMFILE || result == -ENFILE || result == -EAGAIN) {
    // Out of descriptors. io_uring's accept reserves the descriptor before it takes a
    // connection, so it fails at once, connection or not. Wait until one is waiting, then let
    // common::Listener::accept() refuse it (it closes it: the client learns at once). Kernels
    // before 5.18 answer EAGAIN at once on a non-blocking listener: the same wait serves them.
    return submit_poll(server, server.listener.fd(), kListenerReadable);
  } else if (result != -ECONNABORTED && result != -EINTR) {
    common::log_errno("accept", -result);
  }
  submit_accept(server);  // single-shot: ask for the next one
}

// Out of descriptors, a connection is waiting: take it if a descriptor is free again, or
// refuse it; then go back to io_uring's accept.
void do_listener_readable(Server& server) {
  while (common::Fd fd = server.listener.accept(common::Mode::kBlocking))
    add_connection(server, std::move(fd));
  submit_accept(server);
}

// Ends every operation in flight and reaps every completion, so that no buffer is still lent to
// the kernel when the connections are freed: the accept (or its poll) is cancelled by its
// user_data, and shutdown() ends each connection under its recv and send, which then complete
// at once. Called by ~Server(), so that it happens however run() ends.
void cancel_all(Server& server) {
  for (const Operation op : {kAccept, kListenerReadable}) {  // one of the two is in flight
    io_uring_sqe* sqe = next_sqe(server);
    io_uring_prep_cancel64(sqe, tag(server.listener.fd(), op), 0);
    io_uring_sqe_set_data64(sqe, tag(0, kStop));
  }
  for (const auto& [fd, conn] : server.connections)
    (void)::shutdown(fd, SHUT_RDWR);  // fails only if the client left first: nothing to end
  while (server.in_flight > 0) {
    io_uring_cqe* cqe = nullptr;
    // EBUSY: completions wait for room in the ring (older kernels); reaping makes room.
    if (const int err = io_uring_submit_and_wait(&server.ring, 1);
        err < 0 && err != -EINTR && err != -EBUSY) {
      common::throw_errno("io_uring_submit_and_wait", -err);
    }
    while (io_uring_peek_cqe(&server.ring, &cqe) == 0) {
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if ((data & 7) == kAccept && cqe->res >= 0) ::close(cqe->res);  // accepted too late
      io_uring_cqe_seen(&server.ring, cqe);
      --server.in_flight;
    }
  }
}

Server::~Server() {
  try {
    cancel_all(*this);
  } catch (const std::exception& e) {
    common::log(e.what());  // the ring's teardown cancels what is left
  }
}

void run(common::Listener& listener) {
  // Non-blocking for common::Listener::accept() (see do_listener_readable()); io_uring's own
  // accept still waits for a connection.
  common::set_nonblocking(listener.fd());
  Server server(listener);

  // The stop pipe becomes readable when SIGINT or SIGTERM arrives.
  submit_poll(server, common::stop_fd(), kStop);
  submit_accept(server);

  for (;;) {
    // Submit what was queued and sleep until at least one operation completes: one system call.
    io_uring_cqe* cqe = nullptr;
    if (const int err = io_uring_submit_and_wait(&server.ring, 1); err < 0) {
      if (err == -EINTR) continue;  // a signal; if it was a stop, the poll completes
      common::throw_errno("io_uring_submit_and_wait", -err);
    }
    unsigned head = 0;
    unsigned seen = 0;
    bool stop = false;
    io_uring_for_each_cqe(&server.ring, head, cqe) {
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      const int fd = static_cast<int>(data >> 3);
      const auto op = static_cast<Operation>(data & 7);
      if (op == kStop) {
        stop = true;
      } else if (op == kAccept) {
        do_accept(server, cqe->res);
      } else if (op == kListenerReadable) {
        do_listener_readable(server);
      } else if (const auto it = server.connections.find(fd); it != server.connections.end()) {
        if (op == kRecv) {
          do_read(it->second, cqe->res);
        } else {
          do_write(it->second, cqe->res);
        }
        settle(server, it);
      }
    }
    io_uring_cq_advance(&server.ring, seen);
    server.in_flight -= seen;
    if (stop) break;
  }
}  // ~Server() cancels and reaps what is in flight; then the connections close, then the ring

}  // namespace

// SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
