/// @file
/// @brief An io_uring that keeps its own rules, for 08-io-uring-server and 08b-io-uring-native:
/// it hands out submission entries, counts the operations in flight, reaps completions, and is
/// never torn down while the kernel still holds one of them; and, for 08b, a ring of provided
/// buffers that the kernel picks from only when data arrives.
///
/// Only the io_uring stages include this header; they link `common_uring`, which CMake builds on
/// Linux when liburing is found.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

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

/// @brief Throws unless this kernel is Linux @p major.@p minor or later: for what the opcode
/// probe of Ring cannot see, a flag of an operation the kernel has (multishot receive is
/// IORING_OP_RECV with `IORING_RECV_MULTISHOT`, Linux 6.0; an older kernel fails each such
/// receive with EINVAL, one connection at a time, instead of refusing to start).
/// @param major,minor the first Linux version that has it, e.g. 6 and 0.
/// @param feature what needs it, for the message, e.g. `multishot receive`.
/// @throws std::runtime_error `io_uring: this kernel (5.15.0) lacks multishot receive (Linux
/// 6.0)`.
void require_linux(unsigned major, unsigned minor, std::string_view feature);

/// @brief A ring of provided buffers (Linux 5.19), registered with a Ring: buffers lent to the
/// kernel all at once, from which it picks one only when data arrives for a receive that asks
/// for one (`IOSQE_BUFFER_SELECT`, and group() in the submission's `buf_group`). The completion
/// says which (bytes() reads it); that buffer is the program's until give_back() returns it.
/// When none is left, such a receive fails with ENOBUFS (a multishot one ends).
///
/// One anonymous mapping holds the ring (page-aligned, as the kernel requires: its entries,
/// count() rounded up to a power of two) and then the buffers, whose pages become resident only
/// once the kernel writes into them. liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring(),
/// so the constructor does its work: mmap(), io_uring_register_buf_ring(),
/// io_uring_buf_ring_init(), then io_uring_buf_ring_add() for each buffer and one
/// io_uring_buf_ring_advance().
///
/// Declare it after its Ring, so that it goes first: the destructor checks (COMMON_ASSERT, in
/// every build type) that the Ring has no operation in flight that might still pick a buffer,
/// then unregisters the ring and unmaps it.
class BufferRing {
 public:
  /// @brief Maps, registers and fills a ring of @p count buffers of @p size bytes each.
  /// @param ring the Ring it is registered with; it must outlive this BufferRing.
  /// @param count buffers, 1 to 32768.
  /// @param size bytes in each, the most one completion can bring.
  /// @param group the buffer group id that receives name to pick from it.
  /// @throws std::runtime_error `io_uring_register_buf_ring: Invalid argument (buffer rings need
  /// Linux 5.19)` on a kernel without them; std::system_error if mmap() or the registration
  /// fails otherwise.
  BufferRing(Ring& ring, unsigned count, std::size_t size, std::uint16_t group);
  /// @brief Aborts if the Ring has an operation in flight (see the class); else unregisters the
  /// ring and unmaps the buffers, logging (never throwing) if either fails.
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  /// @brief The group id a receive names in its submission's `buf_group`.
  [[nodiscard]] std::uint16_t group() const noexcept { return group_; }

  /// @brief The bytes that the receive whose completion is @p cqe brought: `cqe.res` of them, in
  /// the buffer the kernel picked, which the completion names (`IORING_CQE_F_BUFFER` set, the id
  /// in `cqe.flags >> IORING_CQE_BUFFER_SHIFT`); none if it picked none or brought nothing.
  /// Valid until give_back(@p cqe).
  [[nodiscard]] std::span<const char> bytes(const io_uring_cqe& cqe) const;

  /// @brief Gives the buffer @p cqe names, if any, back to the kernel, to be picked again, at once
  /// (io_uring_buf_ring_add(), io_uring_buf_ring_advance()). A completion that brought nothing
  /// (end of input, an error) may name one too. Call it once per completion: a buffer given back
  /// twice would be picked for two receives at once.
  void give_back(const io_uring_cqe& cqe);

 private:
  Ring& ring_;
  unsigned count_;
  std::size_t size_;
  std::uint16_t group_;
  unsigned entries_;                          // count_ rounded up to a power of two
  std::size_t mapped_;                        // the ring's entries (whole pages), the buffers
  void* mapping_ = nullptr;                   // all of it
  io_uring_buf_ring* buffer_ring_ = nullptr;  // its start
  char* buffers_ = nullptr;                   // after the ring's pages
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
