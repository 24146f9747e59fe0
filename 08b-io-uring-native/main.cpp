// 08b-io-uring-native: io_uring as it is meant to be used: multishot, provided buffers.
//
// What it teaches
//   08 translated a readiness loop: one recv at a time, into a buffer each connection lends the
//   kernel even while idle; each batch of answers copied to be sent. That saves a few system
//   calls and leaves io_uring's strengths unused (liburing's "io_uring and networking in 2023"):
//   the loop itself must change. Here the accept and each recv are asked for once and go on
//   completing (multishot); a recv names no buffer: the kernel picks one from a ring we provided
//   when data arrives, so an idle connection holds none; answers are sent uncopied. The price
//   (see below): a ring run dry, backpressure, a stop that must cancel what never ends.
//
// What to observe
//   `strace -f -c -p $(pgrep 08b-io-uring)`: fewer io_uring_enter() than 08's, nothing else;
//   VmRSS in /proc/PID/status with 2000 idle clients: far below 08's.
//
// Run it
//   build/bin/08b-io-uring-native [--bind ADDR] [--port PORT] [--buffers N]; nc 127.0.0.1 40713
#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>

#include "common/check.hpp"
#include "common/connection.hpp"
#include "common/log.hpp"
#include "common/server_main.hpp"
#include "common/signals.hpp"
#include "common/uring.hpp"

namespace {

constexpr std::string_view kSummary =
    "ROT13 line server: io_uring, multishot accept and receive into provided buffers.";

// Submission entries (a full ring submits, to make room); completion entries (10000 clients);
// what we submit, probed; --buffers, a read's worth each (128: 1 in 400 recvs ran dry at 5000×1).
constexpr unsigned kRingEntries = 256;
constexpr unsigned kCompletionEntries = 32768;
constexpr std::initializer_list<io_uring_op> kRingOperations = {
    IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL};
constexpr common::CountOption kBuffers{"--buffers", "provided buffers", 128, 32768};

// What a completion is about: its submission's user_data, tag(descriptor, operation), read back
// by fd_of() and op_of(). A cancel is an operation of its own, with its own completion.
enum Operation : std::uint64_t { kAccept, kListenerReadable, kRecv, kSend, kStop, kCancel };
constexpr unsigned kOpBits = 3;  // the operation in the low bits, the descriptor above them
constexpr std::uint64_t tag(int fd, Operation op) { return std::uint64_t(fd) << kOpBits | op; }
constexpr Operation op_of(std::uint64_t data) { return Operation(data & ((1U << kOpBits) - 1)); }
constexpr int fd_of(std::uint64_t data) { return static_cast<int>(data >> kOpBits); }

// Per-connection state: 04's, and which operations are in flight. Freed only when none is.
struct Connection : common::Connection {
  bool receiving = false;   // a multishot recv is in flight (to its last CQE)
  bool cancelling = false;  // and its cancel is asked for
  bool sending = false;     // a send is in flight, of protocol.pending_output()
  bool failed = false;      // close once nothing is in flight
};

// What every handler can reach; members go in reverse, each only with nothing in flight.
struct Server {
  ~Server();  // cancels and reaps everything in flight (cancel_all())
  common::Listener& listener;
  unsigned buffer_count;  // --buffers
  std::map<int, Connection> connections;
  common::Ring ring{kRingEntries, kCompletionEntries, kRingOperations};
  common::BufferRing buffers{ring, buffer_count, common::kMaxLine, /*group=*/0};
};

// Asks the kernel for a readiness report, the one kind of operation readiness IO is made of: we
// use it for the stop pipe, and for the listener when out of descriptors (see do_accept()).
void submit_poll(Server& server, int fd, Operation op) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_poll_add(sqe, fd, POLLIN);
  io_uring_sqe_set_data64(sqe, tag(fd, op));
}

// Asks the kernel to accept every connection from now on, telling us each one's descriptor.
void submit_accept(Server& server) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_multishot_accept(sqe, server.listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(server.listener.fd(), kAccept));
}

// Asks the kernel to receive until told to stop, each time into a buffer it picks from the ring.
void submit_recv(Server& server, Connection& conn) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_recv_multishot(sqe, conn.fd.get(), nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = server.buffers.group();
  io_uring_sqe_set_data64(sqe, tag(conn.fd.get(), kRecv));
  conn.receiving = true;
}

// Asks the kernel to send what the protocol owes, from its own buffer: those bytes stay put
// until on_output_sent(), whatever input arrives (LineProtocol::pending_output() says how).
void submit_send(Server& server, Connection& conn) {
  const auto pending = conn.protocol.pending_output();
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_send(sqe, conn.fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(conn.fd.get(), kSend));
  conn.sending = true;
}

// Asks the kernel to end the operation whose user_data is `target` (none in flight: -ENOENT).
void submit_cancel(Server& server, std::uint64_t target) {
  io_uring_sqe* sqe = server.ring.get_sqe();
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, tag(fd_of(target), kCancel));
}

// After a completion: queue what the connection needs next, or free it once it has finished or
// failed and nothing of it is in flight.
void settle(Server& server, std::map<int, Connection>::iterator it) {
  Connection& conn = it->second;
  if (!conn.failed) {
    // One send at a time: the rest of a short send goes first, then the answers owed since.
    if (!conn.sending && conn.protocol.wants_write()) submit_send(server, conn);
    // Backpressure: a multishot recv does not wait to be asked; cancel it while 64 KiB are owed.
    // What it brings meanwhile waits unanswered in the protocol (on_input()): rule 5 holds.
    if (conn.receiving && !conn.protocol.wants_read() && !conn.cancelling) {
      submit_cancel(server, tag(conn.fd.get(), kRecv));
      conn.cancelling = true;
    }
    // The client caught up, or the ring ran dry (-ENOBUFS; each buffer is back by now): again.
    if (!conn.receiving && conn.protocol.wants_read()) submit_recv(server, conn);
  }
  if (conn.receiving || conn.sending) return;
  if (conn.failed || conn.protocol.finished()) server.connections.erase(it);
}

// A connection failed: shutdown() completes its recv and send at once; free it then.
void fail(Connection& conn, const char* what, int err) {
  common::log_errno(what, err);
  conn.failed = true;
  (void)::shutdown(conn.fd.get(), SHUT_RDWR);  // fails only if the client left first
}

// A recv completed with `cqe.res` bytes (0: end of input). In flight until a completion without
// IORING_CQE_F_MORE: at the end of input, an error, our cancel, or with the ring dry (-ENOBUFS).
void do_read(Server& server, Connection& conn, const io_uring_cqe& cqe) {
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) conn.receiving = conn.cancelling = false;
  conn.protocol.on_input(server.buffers.bytes(cqe));  // from the buffer the kernel picked
  server.buffers.give_back(cqe);  // its bytes are taken: the kernel may pick it again
  if (cqe.res == 0) conn.protocol.on_end_of_input();
  if (cqe.res < 0 && cqe.res != -ENOBUFS && cqe.res != -ECANCELED && !conn.failed)
    fail(conn, "recv", -cqe.res);
}

// A send completed: `result` bytes of pending_output() went to the kernel; settle() sends the rest.
void do_write(Connection& conn, int result) {
  conn.sending = false;
  if (result < 0 && !conn.failed) fail(conn, "send", -result);
  if (result > 0) conn.protocol.on_output_sent(static_cast<std::size_t>(result));
}

// A new connection: keep it, and start receiving.
void add_connection(Server& server, common::Fd fd) {
  auto [it, added] = server.connections.try_emplace(fd.get());
  COMMON_ASSERT(added, "a new connection's descriptor is already in the table");
  it->second.fd = std::move(fd);
  settle(server, it);
}

// An accept completed: `result` is the new connection's descriptor, or an error, which ends it.
void do_accept(Server& server, int result, bool more) {
  if (result >= 0) {
    add_connection(server, common::Fd(result));
  } else if (result == -EMFILE || result == -ENFILE || result == -EAGAIN) {
    // Out of descriptors, io_uring's accept fails at once, connection or not (before 5.18, with
    // EAGAIN). Wait until one is waiting, and let common::Listener::accept() refuse it at once.
    return submit_poll(server, server.listener.fd(), kListenerReadable);
  } else if (result != -ECONNABORTED && result != -EINTR) {
    common::log_errno("accept", -result);
  }
  if (!more) submit_accept(server);  // it ended: ask again
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
  if (op_of(cqe.user_data) == kRecv) do_read(server, it->second, cqe);
  if (op_of(cqe.user_data) == kSend) do_write(it->second, cqe.res);
  settle(server, it);
}

// Ends every operation in flight and reaps every completion before the buffers and the ring go:
// the accept (or its poll), the stop pipe's poll and each endless multishot recv are cancelled by
// their user_data, shutdown() ends each send. Called by ~Server(), however run() ends; if it
// fails, it says why, and ~BufferRing, finding operations in flight, stops the program.
void cancel_all(Server& server) {
  const int listener = server.listener.fd();
  try {
    for (const auto target :
         {tag(listener, kAccept), tag(listener, kListenerReadable), tag(common::stop_fd(), kStop)})
      submit_cancel(server, target);
    for (const auto& [client, conn] : server.connections) {
      if (conn.receiving) submit_cancel(server, tag(client, kRecv));
      (void)::shutdown(client, SHUT_RDWR);  // fails only if the client left first: nothing to end
    }
    server.ring.drain([](const io_uring_cqe& cqe) {
      if (op_of(cqe.user_data) == kAccept && cqe.res >= 0) ::close(cqe.res);  // accepted too late
    });
  } catch (const std::exception& e) {
    common::log(e.what());
  }
}

Server::~Server() { cancel_all(*this); }

void run(common::Listener& listener, unsigned buffers) {
  // Non-blocking for Listener::accept() (do_listener_readable()); io_uring's accept still waits.
  common::set_nonblocking(listener.fd());
  common::require_linux(6, 0, "multishot receive");  // Ring's probe sees IORING_OP_RECV only
  Server server{listener, buffers, {}};
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
      if (op == kAccept) do_accept(server, cqe.res, (cqe.flags & IORING_CQE_F_MORE) != 0);
      if (op == kListenerReadable) do_listener_readable(server);
      if (op == kRecv || op == kSend) serve(server, cqe);
    });
  }
}  // ~Server() cancels and reaps what is in flight; then the buffer ring goes, then the ring

}  // namespace

// SIGPIPE is ignored (server_main): a vanished peer ends only its connection.
int main(int argc, char** argv) { return common::server_main(argc, argv, kSummary, run, kBuffers); }
