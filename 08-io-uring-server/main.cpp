// 08-io-uring-server: completion IO on Linux: we say what to do, the kernel says when it is done.
//
// What it teaches
//   Every stage so far asked the kernel about readiness ("tell me when this socket is readable")
//   and then made the recv() or send() itself. The chapter ends on the other model, Windows'
//   IOCP, where you hand the kernel the work ("receive into this buffer", "send these bytes")
//   and it tells you when each is done. io_uring is Linux's version: two rings shared with the
//   kernel, one of submissions (SQEs) and one of completions (CQEs). We queue an accept, a recv
//   per connection and a send whenever answers are owed; one io_uring_enter() both submits them
//   and waits; each completion carries the bytes moved (or an error) and the user_data of its
//   submission, which says which connection and which operation it was. The protocol is 04's,
//   05's and 07's; what changes is that a buffer lent to the kernel is the kernel's until its
//   completion arrives. Kept simple on purpose: single-shot operations, one recv and at most one
//   send in flight per connection (two sends on one stream socket could complete out of order
//   under backpressure). Multishot accept and recv with provided buffers: the guide's exercise.
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
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "common/check.hpp"
#include "common/connection.hpp"
#include "common/log.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"
#include "common/uring.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: io_uring, completion-based IO (the IOCP model on Linux).";

// Submission entries (a full ring submits, to make room); completion entries, for a recv and a
// send at once on each of 10000 idle connections; the operations we submit, checked by the ring.
constexpr unsigned kRingEntries = 256;
constexpr unsigned kCompletionEntries = 32768;
constexpr std::initializer_list<io_uring_op> kRingOperations = {
    IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL};

// What a completion is about: its submission's user_data, tag(descriptor, operation), read back
// by fd_of() and op_of(). A cancel is an operation of its own, with its own completion.
enum Operation : std::uint64_t { kAccept, kListenerReadable, kRecv, kSend, kStop, kCancel };
constexpr unsigned kOpBits = 3;  // the operation in the low bits, the descriptor above them
constexpr std::uint64_t tag(int fd, Operation op) { return std::uint64_t(fd) << kOpBits | op; }
constexpr Operation op_of(std::uint64_t data) { return Operation(data & ((1U << kOpBits) - 1)); }
constexpr int fd_of(std::uint64_t data) { return static_cast<int>(data >> kOpBits); }

// Per-connection state, kept between completions: 04's (the socket and its protocol state) plus
// the buffers lent to the kernel and which operations are in flight. A connection is freed only
// when nothing of it is in flight: the kernel may still be writing into `in` or reading `out`.
struct Connection : common::Connection {
  // A recv in flight receives into it: lent to the kernel even while the client is idle (the
  // guide's exercise removes it). Not zeroed: bar malloc's header, a page is resident once written.
  std::unique_ptr<char[]> in = std::make_unique_for_overwrite<char[]>(common::kMaxLine);
  std::vector<char> out;   // what the send in flight sends: a copy, since the protocol's may move
  bool receiving = false;  // a recv is in flight
  bool sending = false;    // a send is in flight
  bool failed = false;     // close once nothing is in flight
};

// What every handler can reach. Members go in reverse: the ring first, and only with nothing in
// flight (~Ring checks), then the connections and the buffers they lent the kernel.
struct Server {
  ~Server();  // cancels and reaps everything in flight (cancel_all())
  common::Listener& listener;
  std::map<int, Connection> connections;
  common::Ring ring{kRingEntries, kCompletionEntries, kRingOperations};
};

// Asks the kernel for a readiness report, the one kind of operation readiness IO is made of: we
// use it for the stop pipe, and for the listener when out of descriptors (see do_accept()).
void submit_poll(Server& server, int fd, Operation op) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_poll_add(sqe, fd, POLLIN);
  io_uring_sqe_set_data64(sqe, tag(fd, op));
}

// Asks the kernel to accept the next connection, and to tell us its descriptor.
void submit_accept(Server& server) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_accept(sqe, server.listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(server.listener.fd(), kAccept));
}

// Asks the kernel to receive into the connection's buffer, and to tell us when it has.
void submit_recv(Server& server, Connection& conn) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_recv(sqe, conn.fd.get(), conn.in.get(), common::kMaxLine, 0);
  io_uring_sqe_set_data64(sqe, tag(conn.fd.get(), kRecv));
  conn.receiving = true;
}

// Asks the kernel to send `out`, and to tell us how much it sent.
void submit_send(Server& server, Connection& conn) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_send(sqe, conn.fd.get(), conn.out.data(), conn.out.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(conn.fd.get(), kSend));
  conn.sending = true;
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
    // Backpressure: no new recv while the client is owed too much; a send completion resumes it.
    const std::size_t owed = conn.protocol.owed() + conn.out.size();
    if (!conn.receiving && conn.protocol.wants_read() && owed < common::kMaxPendingOutput) {
      submit_recv(server, conn);
    }
  }
  if (conn.receiving || conn.sending) return;
  if (conn.failed || conn.protocol.finished()) server.connections.erase(it);
}

// A connection failed: shutdown() completes its waiting recv or send at once; free it then.
void fail(Connection& conn, const char* what, int err) {
  common::log_errno(what, err);
  conn.failed = true;
  (void)::shutdown(conn.fd.get(), SHUT_RDWR);  // fails only if the client left first
}

// A recv completed: `result` bytes arrived in `in` (0: the client ended its input).
void do_read(Connection& conn, int result) {
  conn.receiving = false;
  if (result > 0) conn.protocol.on_input({conn.in.get(), static_cast<std::size_t>(result)});
  if (result == 0) conn.protocol.on_end_of_input();
  if (result < 0 && !conn.failed) fail(conn, "recv", -result);
}

// A send completed: the first `result` bytes of `out` went to the kernel's buffer. They leave
// `out`; after a short send, settle() sends the rest, else it takes the next batch of answers.
void do_write(Connection& conn, int result) {
  conn.sending = false;
  if (result < 0 && !conn.failed) fail(conn, "send", -result);
  if (result > 0) conn.out.erase(conn.out.begin(), conn.out.begin() + result);
}

// A new connection: keep it, and start receiving.
void add_connection(Server& server, common::Fd fd) {
  auto [it, added] = server.connections.try_emplace(fd.get());
  COMMON_ASSERT(added, "a new connection's descriptor is already in the table");
  it->second.fd = std::move(fd);
  settle(server, it);
}

// An accept completed: `result` is the new connection's descriptor, or an error.
void do_accept(Server& server, int result) {
  if (result >= 0) {
    add_connection(server, common::Fd(result));
  } else if (result == -EMFILE || result == -ENFILE || result == -EAGAIN) {
    // Out of descriptors, io_uring's accept fails at once, connection or not (before 5.18, with
    // EAGAIN). Wait until one is waiting, and let common::Listener::accept() refuse it at once.
    return submit_poll(server, server.listener.fd(), kListenerReadable);
  } else if (result != -ECONNABORTED && result != -EINTR) {
    common::log_errno("accept", -result);
  }
  submit_accept(server);  // single-shot: ask for the next one
}

// Out of descriptors, a connection waits: take it if a descriptor is free again, else refuse it.
void do_listener_readable(Server& server) {
  while (common::Fd fd = server.listener.accept(common::Mode::kBlocking))
    add_connection(server, std::move(fd));
  submit_accept(server);
}

// A connection's recv or send completed: hand its result to the handler, then settle it. Looked
// up by descriptor, as in 07: freed only when nothing of it is in flight, it is always there.
void serve(Server& server, const io_uring_cqe& cqe) {
  const auto it = server.connections.find(fd_of(cqe.user_data));
  COMMON_ASSERT(it != server.connections.end(), "a completion for a connection already freed");
  if (op_of(cqe.user_data) == kRecv) do_read(it->second, cqe.res);
  if (op_of(cqe.user_data) == kSend) do_write(it->second, cqe.res);
  settle(server, it);
}

// Ends every operation in flight and reaps every completion, so that no buffer is still lent to
// the kernel when the ring and the connections go: the accept (or its poll) and the stop pipe's
// poll are cancelled by their user_data, and shutdown() ends each connection under its recv and
// send. Called by ~Server(): however run() ends, after a stop or after a failed ring call. If
// it fails, it says why, and ~Ring, finding operations in flight, stops the program.
void cancel_all(Server& server) {
  const int listener = server.listener.fd();
  try {
    for (const auto target : {tag(listener, kAccept), tag(listener, kListenerReadable),
                              tag(common::stop_fd(), kStop)}) {
      io_uring_sqe* sqe = server.ring.get_sqe();  // a cancel of what is not in flight: -ENOENT
      io_uring_prep_cancel64(sqe, target, 0);
      io_uring_sqe_set_data64(sqe, tag(fd_of(target), kCancel));
    }
    for (const auto& [client, conn] : server.connections)
      (void)::shutdown(client, SHUT_RDWR);  // fails only if the client left first: nothing to end
    server.ring.drain([](const io_uring_cqe& cqe) {
      if (op_of(cqe.user_data) == kAccept && cqe.res >= 0) ::close(cqe.res);  // accepted too late
    });
  } catch (const std::exception& e) {
    common::log(e.what());
  }
}

Server::~Server() { cancel_all(*this); }

void run(common::Listener& listener) {
  // Non-blocking for Listener::accept() (do_listener_readable()); io_uring's accept still waits.
  common::set_nonblocking(listener.fd());
  Server server{listener, {}};
  submit_poll(server, common::stop_fd(), kStop);  // readable when SIGINT or SIGTERM arrives
  submit_accept(server);
  for (bool stop = false; !stop;) {
    // Submit what was queued and sleep until at least one operation completes: one system call.
    if (const int err = io_uring_submit_and_wait(server.ring.get(), 1); err < 0) {
      if (err == -EINTR) continue;  // a signal; if it was a stop, the poll completes
      common::throw_errno("io_uring_submit_and_wait", -err);
    }
    server.ring.reap([&](const io_uring_cqe& cqe) {
      const Operation op = op_of(cqe.user_data);
      if (op == kStop) stop = true;
      if (op == kAccept) do_accept(server, cqe.res);
      if (op == kListenerReadable) do_listener_readable(server);
      if (op == kRecv || op == kSend) serve(server, cqe);
    });
  }
}  // ~Server() cancels and reaps what is in flight; then the ring goes, then the connections

}  // namespace

// SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run); }
