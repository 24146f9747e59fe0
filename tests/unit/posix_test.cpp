// common/posix.hpp: each call leaves its descriptor with the flags it promises, whichever form
// the build uses (the Linux calls, or the POSIX fallbacks of the posix preset).
#include "common/posix.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <csignal>

#include "common/net.hpp"

namespace {

bool has_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

bool has_nonblock(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

// A loopback listener and one client connected to it, waiting to be accepted.
struct Waiting {
  common::Listener listener{"127.0.0.1", 0};
  common::Fd client;

  Waiting() {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    EXPECT_EQ(::getsockname(listener.fd(), generic, &length), 0);
    client = common::Fd(common::socket_cloexec(AF_INET, SOCK_STREAM, 0));
    EXPECT_TRUE(client);
    EXPECT_EQ(::connect(client.get(), generic, length), 0) << errno;
  }
};

TEST(Posix, SocketIsCloseOnExecAndBlocking) {
  const common::Fd fd(common::socket_cloexec(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(fd);
  EXPECT_TRUE(has_cloexec(fd.get()));
  EXPECT_FALSE(has_nonblock(fd.get()));
}

TEST(Posix, AcceptedSocketIsCloseOnExecAndNonBlockingWhenAsked) {
  Waiting waiting;
  const common::Fd accepted(common::accept_cloexec(waiting.listener.fd(), true));
  ASSERT_TRUE(accepted) << errno;
  EXPECT_TRUE(has_cloexec(accepted.get()));
  EXPECT_TRUE(has_nonblock(accepted.get()));
}

TEST(Posix, AcceptedSocketIsBlockingWhenAskedEvenFromANonBlockingListener) {
  Waiting waiting;
  common::set_nonblocking(waiting.listener.fd());
  const common::Fd accepted(common::accept_cloexec(waiting.listener.fd(), false));
  ASSERT_TRUE(accepted) << errno;
  EXPECT_TRUE(has_cloexec(accepted.get()));
  EXPECT_FALSE(has_nonblock(accepted.get()));
}

TEST(Posix, AcceptWithNothingWaitingOnANonBlockingListenerFailsWithEagain) {
  const common::Listener listener("127.0.0.1", 0);
  common::set_nonblocking(listener.fd());
  errno = 0;
  EXPECT_EQ(common::accept_cloexec(listener.fd(), true), -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
}

TEST(Posix, BothEndsOfThePipeAreCloseOnExecAndNonBlocking) {
  std::array<int, 2> ends{-1, -1};
  ASSERT_EQ(common::pipe_cloexec_nonblocking(ends.data()), 0) << errno;
  const common::Fd read_end(ends[0]);
  const common::Fd write_end(ends[1]);
  for (const int end : ends) {
    EXPECT_TRUE(has_cloexec(end)) << end;
    EXPECT_TRUE(has_nonblock(end)) << end;
  }
}

// SIGPIPE keeps its default action here (death), as in 01: if send_nosignal() let it through,
// this test would die instead of failing.
TEST(Posix, SendToAVanishedPeerFailsWithEpipeAndRaisesNoSignal) {
  struct sigaction saved {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ASSERT_EQ(::sigaction(SIGPIPE, &dfl, &saved), 0);
  std::array<int, 2> pair{-1, -1};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair.data()), 0);
  const common::Fd ours(pair[0]);
  ::close(pair[1]);  // the peer is gone
  errno = 0;
  EXPECT_EQ(common::send_nosignal(ours.get(), "x", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  // Nothing is left blocked or pending for later either.
  sigset_t now;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &now), 0);
  EXPECT_EQ(sigismember(&now, SIGPIPE), 0);
  ASSERT_EQ(sigpending(&now), 0);
  EXPECT_EQ(sigismember(&now, SIGPIPE), 0);
  ::sigaction(SIGPIPE, &saved, nullptr);
}

}  // namespace
