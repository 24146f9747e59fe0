/// @file
/// @brief The two socket calls of every stage that makes its own (02 to 05, 07): recv() into a
/// LineProtocol and send() out of it. Where and when to call them is each stage's lesson; how
/// is shared here. (08 makes neither: the kernel does, through io_uring.)
#pragma once

#include "common/connection.hpp"
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
/// has gone gives EPIPE or ECONNRESET, never SIGPIPE (send_nosignal()).
[[nodiscard]] IoStatus send_from(int fd, LineProtocol& protocol);

/// @brief What a stage's do_read does: receive_into(), then send the answers at once with
/// send_from(). Answering at once saves a trip through the event loop: a socket that just had
/// room usually still has. Whatever does not fit stays pending for do_write.
/// @return false if the connection failed (already logged): close it.
[[nodiscard]] bool read_and_answer(Connection& conn);

/// @brief What a stage's do_write does: send_from(), as a yes/no.
/// @return false if the connection failed (already logged): close it.
[[nodiscard]] bool send_owed(Connection& conn);

}  // namespace common
