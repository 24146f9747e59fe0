/// @file
/// @brief The two socket calls every hand-buffered stage makes: recv() into a LineProtocol and
/// send() out of it. Where and when to call them is each stage's lesson; how is shared here.
#pragma once

#include "common/line_protocol.hpp"

namespace common {

/// @brief What receive_into() or send_from() did.
enum class IoStatus {
  kProgress,    ///< bytes moved, or end of input recorded
  kWouldBlock,  ///< a non-blocking socket had nothing to give or no room (EAGAIN); try later
  kError,       ///< the connection failed (already logged); close it
};

/// @brief Receives once from @p fd into @p protocol: bytes go to on_input(), and a clean end of
/// input (recv() returns 0: the client closed or shut down its write side) to on_end_of_input().
/// @param fd a connected socket, blocking or not; EINTR is retried.
/// @param protocol the connection's protocol state; should want to read.
[[nodiscard]] IoStatus receive_into(int fd, LineProtocol& protocol);

/// @brief Sends @p protocol's pending output on @p fd until all is sent or the socket is full.
///
/// On a blocking socket it returns only when everything owed is sent (or on error). A peer that
/// has gone gives EPIPE or ECONNRESET, never SIGPIPE (MSG_NOSIGNAL).
[[nodiscard]] IoStatus send_from(int fd, LineProtocol& protocol);

}  // namespace common
