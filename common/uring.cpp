#include "common/uring.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace common {

Ring::Ring(unsigned entries, unsigned completions) {
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
  for (const auto op : {IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_POLL_ADD,
                        IORING_OP_ASYNC_CANCEL}) {
    if (!probe || !io_uring_opcode_supported(probe.get(), op)) {
      io_uring_queue_exit(&ring_);
      throw std::runtime_error("io_uring: this kernel lacks operation " + std::to_string(op));
    }
  }
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

}  // namespace common
