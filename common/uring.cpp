#include "common/uring.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/check.hpp"
#include "common/log.hpp"

namespace common {
namespace {

// liburing has no table of names: the operations a server of this chapter may ask for, by the
// name the kernel's header gives them.
std::string name_of(io_uring_op op) {
  switch (op) {
    case IORING_OP_ACCEPT:
      return "IORING_OP_ACCEPT";
    case IORING_OP_RECV:
      return "IORING_OP_RECV";
    case IORING_OP_SEND:
      return "IORING_OP_SEND";
    case IORING_OP_POLL_ADD:
      return "IORING_OP_POLL_ADD";
    case IORING_OP_POLL_REMOVE:
      return "IORING_OP_POLL_REMOVE";
    case IORING_OP_ASYNC_CANCEL:
      return "IORING_OP_ASYNC_CANCEL";
    case IORING_OP_PROVIDE_BUFFERS:
      return "IORING_OP_PROVIDE_BUFFERS";
    case IORING_OP_SHUTDOWN:
      return "IORING_OP_SHUTDOWN";
    case IORING_OP_CLOSE:
      return "IORING_OP_CLOSE";
    default:
      return "number " + std::to_string(op);
  }
}

}  // namespace

Ring::Ring(unsigned entries, unsigned completions, std::initializer_list<io_uring_op> operations) {
  io_uring_params params{};
  params.cq_entries = completions;
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int err = io_uring_queue_init_params(entries, &ring_, &params);
  if (err == -EINVAL) {  // an older kernel: without the two hints
    params = {};
    params.cq_entries = completions;
    params.flags = IORING_SETUP_CQSIZE;
    err = io_uring_queue_init_params(entries, &ring_, &params);
  }
  if (err < 0) {
    throw std::runtime_error(std::string("io_uring_queue_init: ") + std::strerror(-err) +
                             " (is io_uring disabled? by the sysctl kernel.io_uring_disabled or a "
                             "seccomp filter)");
  }
  const std::unique_ptr<io_uring_probe, decltype(&io_uring_free_probe)> probe(
      io_uring_get_probe_ring(&ring_), io_uring_free_probe);
  for (const io_uring_op op : operations) {
    if (!probe || !io_uring_opcode_supported(probe.get(), op)) {
      io_uring_queue_exit(&ring_);
      throw std::runtime_error("io_uring: this kernel lacks the operation " + name_of(op));
    }
  }
}

Ring::~Ring() {
  COMMON_ASSERT(in_flight_ == 0,
                "io_uring torn down with operations in flight: the kernel may still write into "
                "their buffers");
  io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    if (const int err = io_uring_submit(&ring_); err < 0) throw_errno("io_uring_submit", -err);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) throw std::runtime_error("io_uring_get_sqe: the submission ring stays full");
  ++in_flight_;
  return sqe;
}

void Ring::submit_and_wait_for_drain() {
  const int err = io_uring_submit_and_wait(&ring_, 1);
  if (err < 0 && err != -EINTR && err != -EBUSY) throw_errno("io_uring_submit_and_wait", -err);
}

void Ring::advance(unsigned seen, unsigned finished) noexcept {
  COMMON_ASSERT(finished <= in_flight_,
                "io_uring completed more operations than were submitted through get_sqe()");
  io_uring_cq_advance(&ring_, seen);
  in_flight_ -= finished;
}

}  // namespace common
