/// @file
/// @brief What the blocking servers (02, 02b, 02c) share besides their model: the listener's
/// accept timeout, and the function that serves one client to the end.
///
/// The three stages differ only in who runs serve_blocking(): a child process (02), a thread per
/// client (02b), a thread of a pool (02c). As in UNP, whose threaded server calls `str_echo`,
/// "the same function as before", the diffs between them then show only that.
#pragma once

#include <sys/time.h>

#include "common/net.hpp"

namespace common {

/// @brief How long a blocking accept() waits before it returns to its loop: a quarter of a
/// second, the longest a stop (or a child to reap, or a thread to join) can go unnoticed.
inline constexpr timeval kAcceptTimeout = {0, 250'000};

/// @brief Makes @p listener's accept() give up after kAcceptTimeout (`SO_RCVTIMEO`); it then
/// returns an empty Fd, as on EINTR, and the caller's loop looks at its chores and at stop
/// requests. A signal that arrives just before accept() blocks cannot interrupt it: the
/// timeout bounds that race.
/// @throws std::system_error `setsockopt SO_RCVTIMEO: ...` if the option cannot be set.
void set_accept_timeout(const Listener& listener);

/// @brief Serves the client on @p fd to the end, with blocking calls: recv() until it sends
/// something, send() until every answer is in the kernel's buffer, again and again until its
/// input has ended and everything owed is sent, or the connection fails (logged on stderr).
///
/// First it clears the receive timeout that an accepted socket inherits from its listener
/// (set_accept_timeout()): without that, recv() would wake four times a second to find
/// nothing. While it is stuck in send() it does not read: a client that never reads stalls only
/// the process or thread that serves it (rule 5 of docs/protocol.md).
/// @param fd a connected, blocking socket. It is not closed: the caller closes it when it
/// chooses (02b and 02c under a lock, so that a stop never shuts down a number already reused).
void serve_blocking(int fd);

}  // namespace common
