/// @file
/// @brief Signals: survive vanished peers (SIGPIPE), stop cleanly on SIGINT and SIGTERM.
///
/// A stop request is visible two ways, so that every IO model can wait for it: a flag that a
/// loop can test (stop_requested()) and a descriptor that becomes readable (stop_fd(), the
/// "self-pipe trick"), which select(), libevent and epoll can watch like any socket.
#pragma once

namespace common {

/// @brief Ignores SIGPIPE and makes SIGINT and SIGTERM request a stop.
///
/// With SIGPIPE ignored, writing to a peer that has gone fails with EPIPE instead of killing the
/// whole server. The stop handlers are installed without SA_RESTART, so a blocking call that the
/// signal interrupts returns EINTR and the caller can look at stop_requested().
/// @throws std::system_error if the pipe or a handler cannot be set up.
void install_signal_handlers();

/// @brief True once SIGINT or SIGTERM has arrived.
[[nodiscard]] bool stop_requested() noexcept;

/// @brief A descriptor that becomes readable once a stop has been requested (and stays so).
[[nodiscard]] int stop_fd() noexcept;

/// @brief For a fork()ed child: default SIGINT and SIGTERM (they end it at once) and the stop
/// pipe closed, so the child holds no descriptor that belongs to the parent's loop.
void reset_signals_in_child() noexcept;

}  // namespace common
