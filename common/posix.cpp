#include "common/posix.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

// COMMON_HAVE_ACCEPT4, COMMON_HAVE_SOCK_CLOEXEC, COMMON_HAVE_PIPE2 and COMMON_HAVE_MSG_NOSIGNAL
// come from common/CMakeLists.txt: defined where the system has the call and the build does not
// force the fallbacks (POSIX_FALLBACKS).

namespace common {
namespace {

[[maybe_unused]] bool set_cloexec(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

// Sets or clears O_NONBLOCK, whichever @p nonblocking asks.
[[maybe_unused]] bool set_blocking_mode(int fd, bool nonblocking) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  const int wanted = nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return wanted == flags || ::fcntl(fd, F_SETFL, wanted) == 0;
}

// Where send() has no MSG_NOSIGNAL but the socket has SO_NOSIGPIPE (macOS), set it once here.
bool keep_sigpipe_away(int fd) noexcept {
#if !defined(COMMON_HAVE_MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  const int one = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) == 0;
#else
  (void)fd;
  return true;
#endif
}

// Closes @p fd after a later step failed, keeping that step's errno; returns -1 to pass on.
int close_after_failure(int fd) noexcept {
  const int err = errno;
  ::close(fd);
  errno = err;
  return -1;
}

}  // namespace

int socket_cloexec(int family, int type, int protocol) noexcept {
#ifdef COMMON_HAVE_SOCK_CLOEXEC
  const int fd = ::socket(family, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -1;
#else
  const int fd = ::socket(family, type, protocol);
  if (fd < 0) return -1;
  if (!set_cloexec(fd)) return close_after_failure(fd);
#endif
  if (!keep_sigpipe_away(fd)) return close_after_failure(fd);
  return fd;
}

int accept_cloexec(int listener, bool nonblocking) noexcept {
#ifdef COMMON_HAVE_ACCEPT4
  const int flags = SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
  const int fd = ::accept4(listener, nullptr, nullptr, flags);
  if (fd < 0) return -1;
#else
  const int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0) return -1;
  if (!set_cloexec(fd) || !set_blocking_mode(fd, nonblocking)) return close_after_failure(fd);
#endif
  if (!keep_sigpipe_away(fd)) return close_after_failure(fd);
  return fd;
}

ssize_t send_nosignal(int fd, const void* data, std::size_t size) noexcept {
#if defined(COMMON_HAVE_MSG_NOSIGNAL)
  return ::send(fd, data, size, MSG_NOSIGNAL);
#elif defined(SO_NOSIGPIPE)
  return ::send(fd, data, size, 0);  // the socket has SO_NOSIGPIPE (keep_sigpipe_away)
#else
  // Neither: block SIGPIPE for the call, and take back the one it raised before unblocking.
  sigset_t sigpipe_only;
  sigemptyset(&sigpipe_only);
  sigaddset(&sigpipe_only, SIGPIPE);
  sigset_t saved;
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &sigpipe_only, &saved); rc != 0) {
    errno = rc;  // pthread functions return the error rather than set errno
    return -1;
  }
  const auto sigpipe_pending = [] {
    sigset_t pending;
    return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  };
  const bool pending_before = sigpipe_pending();  // someone else's: leave it for them
  const ssize_t n = ::send(fd, data, size, 0);
  const int err = errno;
  if (n < 0 && err == EPIPE && !pending_before && sigpipe_pending()) {
    int taken = 0;
    sigwait(&sigpipe_only, &taken);  // returns at once: the signal is pending
  }
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  errno = err;
  return n;
#endif
}

int pipe_cloexec_nonblocking(int ends[2]) noexcept {
#ifdef COMMON_HAVE_PIPE2
  return ::pipe2(ends, O_CLOEXEC | O_NONBLOCK);
#else
  if (::pipe(ends) < 0) return -1;
  for (int i = 0; i < 2; ++i) {
    if (!set_cloexec(ends[i]) || !set_blocking_mode(ends[i], true)) {
      const int err = errno;
      ::close(ends[0]);
      ::close(ends[1]);
      ends[0] = ends[1] = -1;
      errno = err;
      return -1;
    }
  }
  return 0;
#endif
}

}  // namespace common
