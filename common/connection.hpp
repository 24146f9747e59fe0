/// @file
/// @brief common::Connection, the per-connection state of every stage that buffers by hand.
///
/// Only the state: how a stage moves bytes in and out of it is its IO model. 02 to 05 and 07
/// make their own recv() and send(), with the functions of common/connection_io.hpp; 08 lends
/// the kernel buffers instead, and needs only this header.
#pragma once

#include "common/line_protocol.hpp"
#include "common/net.hpp"

namespace common {

/// @brief Per-connection state of a stage that buffers by hand (02 to 05, 07, 08): the socket
/// and its protocol state. A stage that needs more (libevent's events, epoll's interest, the
/// buffers lent to io_uring) derives from it.
struct Connection {
  Fd fd;                  ///< the connected socket, closed when the Connection goes
  LineProtocol protocol;  ///< the bytes received but not yet answered, and the answers owed
};

}  // namespace common
