#include "common/connection_io.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "common/log.hpp"
#include "common/posix.hpp"

namespace common {

IoStatus receive_into(int fd, LineProtocol& protocol) {
  // One line's worth per call: enough to keep recv() calls few, small enough that one read adds
  // little to what the connection may owe (see kMaxPendingOutput).
  std::array<char, kMaxLine> buffer;
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      protocol.on_input(std::span<const char>(buffer.data(), static_cast<std::size_t>(n)));
      return IoStatus::kProgress;
    }
    if (n == 0) {
      protocol.on_end_of_input();
      return IoStatus::kProgress;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWouldBlock;
    log_errno("recv");
    return IoStatus::kError;
  }
}

IoStatus send_from(int fd, LineProtocol& protocol) {
  while (protocol.wants_write()) {
    const auto pending = protocol.pending_output();
    const ssize_t n = send_nosignal(fd, pending.data(), pending.size());
    if (n >= 0) {
      protocol.on_output_sent(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kWouldBlock;
    log_errno("send");
    return IoStatus::kError;
  }
  return IoStatus::kProgress;
}

bool read_and_answer(Connection& conn) {
  return receive_into(conn.fd.get(), conn.protocol) != IoStatus::kError && send_owed(conn);
}

bool send_owed(Connection& conn) {
  return send_from(conn.fd.get(), conn.protocol) != IoStatus::kError;
}

}  // namespace common
