/// @file
/// @brief Socket plumbing: an owning descriptor, the listening socket, address printing.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>

namespace common {

/// @brief Owns one file descriptor and closes it when destroyed (RAII, not discipline).
///
/// Move-only: exactly one Fd owns a descriptor at a time, so it is closed exactly once.
class Fd {
 public:
  /// @brief An Fd that owns nothing.
  Fd() noexcept = default;
  /// @brief Takes ownership of @p fd (a negative value means none).
  explicit Fd(int fd) noexcept : fd_(fd) {}
  /// @brief Takes ownership from @p other, which is left owning nothing.
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  /// @brief Closes the current descriptor, then takes ownership from @p other.
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  /// @brief Closes the descriptor, if any.
  ~Fd() { reset(); }

  /// @brief The descriptor, or -1 if none.
  [[nodiscard]] int get() const noexcept { return fd_; }
  /// @brief True if a descriptor is owned.
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// @brief Gives up ownership without closing; returns the descriptor.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// @brief Closes the current descriptor (if any) and takes ownership of @p fd.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// @brief Whether an accepted connection's socket is left blocking (02) or made non-blocking.
enum class Mode { kBlocking, kNonBlocking };

/// @brief A listening TCP socket, and the accept() that every server stage uses.
class Listener {
 public:
  /// @brief Resolves @p host with getaddrinfo (IPv4 or IPv6), then socket, SO_REUSEADDR, bind
  /// and listen on the first address that works.
  /// @param host a numeric address or a name, e.g. `127.0.0.1`, `::1`, `0.0.0.0`, `localhost`.
  /// @param port the port; 0 lets the kernel pick a free one.
  /// @throws std::system_error whose what() names the failed step, e.g.
  /// `bind 127.0.0.1:40713: Address already in use`.
  Listener(const std::string& host, std::uint16_t port);

  /// @brief The listening descriptor.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// @brief The address actually bound, as print_address() writes it: `127.0.0.1:40713`.
  [[nodiscard]] const std::string& address() const noexcept { return address_; }

  /// @brief Accepts one waiting connection.
  ///
  /// Returns an empty Fd when there is nothing to take right now: no connection waiting (EAGAIN,
  /// or the receive timeout of a blocking listener), a signal (EINTR), a connection that died
  /// in the queue (ECONNABORTED), or a connection refused for want of descriptors.
  ///
  /// Descriptor exhaustion uses the reserve-descriptor remedy (as in libev and muduo): a spare
  /// descriptor is held open from the start; on EMFILE or ENFILE it is closed, the waiting
  /// connection accepted into its place and closed at once, and the spare reopened. The client
  /// sees its connection closed instead of hanging in the queue, and a level-triggered server
  /// does not spin on a listener it can never drain. Each refusal is logged once.
  /// @param mode kNonBlocking sets O_NONBLOCK on the new socket (see accept_cloexec()).
  [[nodiscard]] Fd accept(Mode mode);

  /// @brief Closes the listening socket and the reserve: a fork()ed child must not hold them.
  void close() noexcept;

 private:
  Fd fd_;
  Fd reserve_;
  std::string address_;
};

/// @brief Sets O_NONBLOCK on @p fd.
/// @throws std::system_error `fcntl O_NONBLOCK: ...` if fcntl fails.
void set_nonblocking(int fd);

/// @brief Formats a socket address as `127.0.0.1:40713` or `[::1]:40713`.
/// @param address an AF_INET or AF_INET6 address; other families print as `?`.
[[nodiscard]] std::string print_address(const sockaddr* address);

/// @brief Parses a decimal TCP port, 0 to 65535, with nothing else in the text.
/// @return true and the port in @p port, or false (and @p port untouched) for anything else.
[[nodiscard]] bool parse_port(const std::string& text, std::uint16_t& port) noexcept;

}  // namespace common
