/// @file
/// @brief An io_uring that sets itself up and tears itself down, for 08-io-uring-server.
///
/// Only 08 includes this header; it links `common_uring`, which CMake builds on Linux when
/// liburing is found.
#pragma once

#include <liburing.h>

namespace common {

/// @brief Owns one io_uring: a submission ring and a completion ring shared with the kernel.
///
/// The constructor checks that io_uring is usable here and has the operations 08 submits
/// (accept, recv, send, poll, cancel); the destructor unmaps the rings and closes their
/// descriptor (io_uring_queue_exit()). Every operation submitted must have been reaped first:
/// the kernel may still be writing into a buffer it was lent.
class Ring {
 public:
  /// @brief Sets up a ring of @p entries submissions and @p completions completions.
  ///
  /// Tells the kernel that one thread submits and reaps (`IORING_SETUP_SINGLE_ISSUER`), so that
  /// it may finish completions when that thread next waits for them
  /// (`IORING_SETUP_DEFER_TASKRUN`, Linux 6.1) instead of interrupting it; an older kernel gets
  /// a ring without those hints.
  /// @throws std::runtime_error if io_uring is disabled (the sysctl kernel.io_uring_disabled, a
  /// seccomp filter) or lacks one of the operations, with a message saying which.
  Ring(unsigned entries, unsigned completions);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  /// @brief The ring, for liburing's calls.
  [[nodiscard]] io_uring* get() noexcept { return &ring_; }

 private:
  io_uring ring_{};
};

}  // namespace common
