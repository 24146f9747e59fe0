/// @file
/// @brief The four Linux conveniences the stages use, each with a plain POSIX fallback.
///
/// Linux (and most BSDs) can set close-on-exec and non-blocking in the call that creates a
/// descriptor (`SOCK_CLOEXEC`, `SOCK_NONBLOCK`, `accept4()`, `pipe2()`), and can keep one send()
/// from raising SIGPIPE (`MSG_NOSIGNAL`). Where a system lacks one of them (macOS, for one, has
/// no accept4() or pipe2()), the same result takes more calls: fcntl() after the descriptor
/// exists, or the socket option `SO_NOSIGPIPE`. Which form a build uses is decided once, by
/// CMake, in common/CMakeLists.txt; the `POSIX_FALLBACKS` option forces the fallbacks on Linux
/// so that the tests run them here (the `posix` preset).
///
/// The two-call forms are not atomic: a thread that forks and execs between the two calls could
/// leak the descriptor into the new program. No stage execs a program (02 forks, but its child
/// runs on without exec; 02b and 02c have threads, but never fork), so that cannot happen here.
///
/// Each function behaves like the system call it replaces: it returns what that call returns,
/// and on failure -1 with errno set, having closed anything it opened.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace common {

/// @brief socket() whose descriptor is closed on exec: `SOCK_CLOEXEC`, or fcntl() after.
///
/// Where send_nosignal() relies on `SO_NOSIGPIPE`, the option is set here too.
/// @param family,type,protocol as for socket(), e.g. `AF_INET6, SOCK_STREAM, 0`.
/// @return the new descriptor, or -1 with errno set.
[[nodiscard]] int socket_cloexec(int family, int type, int protocol) noexcept;

/// @brief accept() whose new descriptor is closed on exec, and non-blocking if asked:
/// `accept4()` with `SOCK_CLOEXEC` (and `SOCK_NONBLOCK`), or accept() and fcntl() after.
///
/// The new socket is blocking unless @p nonblocking, whatever the listener is: some systems
/// let accept() pass the listener's `O_NONBLOCK` on, so the fallback sets or clears it.
/// @param listener a listening socket.
/// @param nonblocking whether the new socket gets `O_NONBLOCK`.
/// @return the connected socket, or -1 with errno set (EAGAIN, EINTR, EMFILE, ... as accept()).
[[nodiscard]] int accept_cloexec(int listener, bool nonblocking) noexcept;

/// @brief send() that never raises SIGPIPE: `MSG_NOSIGNAL`, or `SO_NOSIGPIPE` set on the socket
/// by socket_cloexec() or accept_cloexec(), or, where neither exists, SIGPIPE blocked for the
/// call and the one it raised taken back with sigwait() before it is unblocked.
///
/// A peer that has gone then gives EPIPE (or ECONNRESET) and nothing else, even in a program
/// that leaves SIGPIPE's default action (death) in place for its other writes, as 01 does for
/// stdout: `01-blocking-client | head` ends quietly when head exits.
/// @return the bytes sent, or -1 with errno set.
[[nodiscard]] ssize_t send_nosignal(int fd, const void* data, std::size_t size) noexcept;

/// @brief pipe() whose two ends are both close-on-exec and non-blocking: `pipe2()`, or pipe()
/// and fcntl() after.
/// @param ends receives the read end in [0] and the write end in [1].
/// @return 0, or -1 with errno set (and no descriptor left open).
[[nodiscard]] int pipe_cloexec_nonblocking(int ends[2]) noexcept;

}  // namespace common
