#include "common/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <string>

#include "common/log.hpp"
#include "common/posix.hpp"

namespace common {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // the descriptor is gone even if close() reports an error
  fd_ = fd;
}

namespace {

// Departure [E02.13]: the book's backlog of 16 overflows when a few hundred clients connect.
constexpr int kBacklog = 1024;

Fd open_reserve() { return Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

std::string local_address(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    throw_errno("getsockname");
  }
  return print_address(reinterpret_cast<const sockaddr*>(&address));
}

}  // namespace

Listener::Listener(const std::string& host, std::uint16_t port) : reserve_(open_reserve()) {
  if (!reserve_) throw_errno("open /dev/null (reserve descriptor)");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;  // IPv4 or IPv6, whichever the address is
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("getaddrinfo " + host + ": " + ::gai_strerror(rc));
  }
  // Try each address until one works; if none does, report the last step that failed.
  std::string failed_step;
  int failed_errno = 0;
  for (const addrinfo* ai = found; ai != nullptr && !fd_; ai = ai->ai_next) {
    const std::string where = print_address(ai->ai_addr);
    const int one = 1;
    Fd attempt(socket_cloexec(ai->ai_family, ai->ai_socktype, ai->ai_protocol));
    if (!attempt) {
      failed_step = "socket";
    } else if (::setsockopt(attempt.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
      // Without SO_REUSEADDR a restarted server cannot bind while old connections linger.
      failed_step = "setsockopt SO_REUSEADDR";
    } else if (::bind(attempt.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
      failed_step = "bind " + where;
    } else if (::listen(attempt.get(), kBacklog) < 0) {
      failed_step = "listen " + where;
    } else {
      fd_ = std::move(attempt);
      continue;
    }
    failed_errno = errno;
  }
  ::freeaddrinfo(found);
  if (!fd_) throw_errno(failed_step, failed_errno);
  address_ = local_address(fd_.get());
}

Fd Listener::accept(Mode mode) {
  Fd client(accept_cloexec(fd_.get(), mode == Mode::kNonBlocking));
  if (client) return client;
  switch (errno) {
    case EMFILE:
    case ENFILE: {
      // Out of descriptors: free the reserve, take the waiting connection into its place and
      // close it, so the client learns at once and the listener stops reporting readable.
      const int err = errno;
      reserve_.reset();
      const bool refused = Fd(accept_cloexec(fd_.get(), false)).get() >= 0;
      reserve_ = open_reserve();  // only now: the refused connection's descriptor is free again
      if (refused) log_errno("accept: closing a connection", err);
      return {};
    }
    case EAGAIN:        // nothing waiting (or SO_RCVTIMEO expired on a blocking listener)
    case EINTR:         // a signal: the caller checks why and calls again
    case ECONNABORTED:  // the client gave up while in the queue
      return {};
    default:
      log_errno("accept");
      return {};
  }
}

void Listener::close() noexcept {
  fd_.reset();
  reserve_.reset();
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl O_NONBLOCK");
}

std::string print_address(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    std::string result = "[";  // appended piece by piece: GCC 12 -O3 misreports "[" + string
    result.append(text).append("]:").append(std::to_string(ntohs(v6->sin6_port)));
    return result;
  }
  return text;
}

bool parse_port(const std::string& text, std::uint16_t& port) noexcept {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [next, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || next != end || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace common
