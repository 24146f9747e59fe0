/// @file
/// @brief An io_uring that keeps its own rules, for 08-io-uring-server: it hands out submission
/// entries, counts the operations in flight, reaps completions, and is never torn down while
/// the kernel still holds one of them.
///
/// Only 08 includes this header; it links `common_uring`, which CMake builds on Linux when
/// liburing is found.
#pragma once

#include <liburing.h>

#include <initializer_list>

namespace common {

/// @brief Owns one io_uring (a submission ring and a completion ring shared with the kernel) and
/// the count of operations submitted whose last completion has not been reaped.
///
/// Every submission entry comes from get_sqe(), which counts it in flight, and every completion
/// goes through reap(), which counts it out: the count cannot drift from what the kernel holds.
/// An operation is in flight until its last completion, the one without `IORING_CQE_F_MORE`
/// (a single-shot operation has no other; a multishot one may have many before it).
///
/// Every operation submitted must have been reaped before the Ring goes: until its completion
/// arrives, the kernel may still be writing into a buffer it was lent. The destructor checks it
/// (COMMON_ASSERT, in every build type), then unmaps the rings and closes their descriptor
/// (io_uring_queue_exit()). Declare a Ring after the buffers it lends, so that it goes first.
class Ring {
 public:
  /// @brief Sets up a ring of @p entries submissions and @p completions completions, and checks
  /// that this kernel has every operation in @p operations, the ones the caller will submit.
  ///
  /// Tells the kernel that one thread submits and reaps (`IORING_SETUP_SINGLE_ISSUER`), so that
  /// it may finish completions when that thread next waits for them
  /// (`IORING_SETUP_DEFER_TASKRUN`, Linux 6.1) instead of interrupting it; an older kernel gets
  /// a ring without those hints.
  /// @param entries the submission ring's size (rounded up to a power of two by the kernel).
  /// @param completions the completion ring's size, at least @p entries.
  /// @param operations e.g. `{IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND}`.
  /// @throws std::runtime_error if io_uring is disabled (the sysctl kernel.io_uring_disabled, a
  /// seccomp filter), or this kernel lacks one of @p operations, named in the message:
  /// `io_uring: this kernel lacks the operation IORING_OP_SEND`.
  Ring(unsigned entries, unsigned completions, std::initializer_list<io_uring_op> operations);
  /// @brief Aborts if an operation is still in flight (see the class); else tears the ring down.
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  /// @brief The ring, for liburing's calls (io_uring_submit_and_wait(), ...).
  [[nodiscard]] io_uring* get() noexcept { return &ring_; }

  /// @brief A free submission entry, counted in flight from now on: prepare it, and it goes to
  /// the kernel with the next submission. If the submission ring is full, what is queued is
  /// submitted first, to make room.
  /// @throws std::system_error `io_uring_submit: ...` if that submission fails.
  [[nodiscard]] io_uring_sqe* get_sqe();

  /// @brief Calls @p handle(const io_uring_cqe&) for every completion that has arrived, oldest
  /// first, then marks them seen and counts each operation they end out of in_flight(). If
  /// @p handle throws, the completions handled so far, the one that threw included, are marked
  /// seen all the same: none is handled twice.
  template <typename Handle>
  void reap(Handle&& handle);

  /// @brief Submits what is queued, then waits for and reaps every operation in flight, calling
  /// @p handle as reap() does, until in_flight() is 0: what must be done before the Ring goes.
  ///
  /// It waits as long as those operations take: end them first (cancel them, or shut down the
  /// sockets they wait on). EINTR is retried, and EBUSY (completions waiting for room in the
  /// completion ring, on older kernels) is answered by reaping, which makes room.
  /// @throws std::system_error `io_uring_submit_and_wait: ...` if waiting fails otherwise.
  template <typename Handle>
  void drain(Handle&& handle);

  /// @brief Operations handed out by get_sqe() whose last completion has not been reaped.
  [[nodiscard]] unsigned in_flight() const noexcept { return in_flight_; }

 private:
  // Marks @p seen completions seen, @p finished of which ended their operation.
  void advance(unsigned seen, unsigned finished) noexcept;
  // Submits what is queued and waits for one completion; for drain().
  void submit_and_wait_for_drain();

  io_uring ring_{};
  unsigned in_flight_ = 0;
};

template <typename Handle>
void Ring::reap(Handle&& handle) {
  unsigned seen = 0;
  unsigned finished = 0;
  try {
    unsigned head = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      if ((cqe->flags & IORING_CQE_F_MORE) == 0) ++finished;
      handle(static_cast<const io_uring_cqe&>(*cqe));
    }
  } catch (...) {
    advance(seen, finished);
    throw;
  }
  advance(seen, finished);
}

template <typename Handle>
void Ring::drain(Handle&& handle) {
  while (in_flight_ > 0) {
    submit_and_wait_for_drain();
    reap(handle);
  }
}

}  // namespace common
