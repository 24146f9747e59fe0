#include "common/blocking_server.hpp"

#include <sys/socket.h>

#include "common/connection_io.hpp"
#include "common/line_protocol.hpp"
#include "common/log.hpp"

namespace common {

void set_accept_timeout(const Listener& listener) {
  if (::setsockopt(listener.fd(), SOL_SOCKET, SO_RCVTIMEO, &kAcceptTimeout, sizeof kAcceptTimeout) <
      0) {
    throw_errno("setsockopt SO_RCVTIMEO");
  }
}

void serve_blocking(int fd) {
  constexpr timeval kNoTimeout = {0, 0};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kNoTimeout, sizeof kNoTimeout) < 0) {
    log_errno("setsockopt SO_RCVTIMEO");
    return;
  }
  // The state of the conversation lives on this stack, for the life of the connection.
  // Departure [E02.1]: reads up to a line's worth per recv(), not one byte per call.
  // Departures [E02.2, E02.3]: common::LineProtocol splits long lines and answers a partial line.
  // Departures [E02.4, E02.5]: a partial send() continues; a vanished peer gives EPIPE, not
  // SIGPIPE.
  LineProtocol protocol;
  while (!protocol.finished() && receive_into(fd, protocol) != IoStatus::kError &&
         send_from(fd, protocol) != IoStatus::kError) {
  }
}

}  // namespace common
