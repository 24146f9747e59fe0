#include "common/uring.hpp"

#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdlib>
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

// The ring's entries in whole pages: the kernel wants the ring page-aligned, and the buffers
// follow it in the same mapping.
std::size_t ring_bytes(unsigned entries) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (entries * sizeof(io_uring_buf) + page - 1) / page * page;
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

void require_linux(unsigned major, unsigned minor, std::string_view feature) {
  utsname name{};
  if (::uname(&name) != 0) throw_errno("uname");
  // "6.1.0-18-amd64": the first two numbers. Anything else reads as 0: too old.
  char* end = nullptr;
  const unsigned long found_major = std::strtoul(name.release, &end, 10);
  const unsigned long found_minor = *end == '.' ? std::strtoul(end + 1, nullptr, 10) : 0;
  if (found_major < major || (found_major == major && found_minor < minor)) {
    throw std::runtime_error("io_uring: this kernel (" + std::string(name.release) + ") lacks " +
                             std::string(feature) + " (Linux " + std::to_string(major) + "." +
                             std::to_string(minor) + ")");
  }
}

BufferRing::BufferRing(Ring& ring, unsigned count, std::size_t size, std::uint16_t group)
    : ring_(ring),
      count_(count),
      size_(size),
      group_(group),
      entries_(std::bit_ceil(count)),
      mapped_(ring_bytes(entries_) + std::size_t{count} * size) {
  constexpr unsigned kMaxEntries = 32768;  // the kernel takes fewer than 65536, a power of two
  COMMON_ASSERT(count >= 1 && count <= kMaxEntries && size > 0, "a buffer ring of no buffers");
  // cppcheck-suppress invalidFunctionArg ; an anonymous mapping takes no descriptor: -1, mmap(2)
  mapping_ = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) throw_errno("mmap");
  buffer_ring_ = static_cast<io_uring_buf_ring*>(mapping_);
  buffers_ = static_cast<char*>(mapping_) + ring_bytes(entries_);

  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uintptr_t>(buffer_ring_);
  registration.ring_entries = entries_;
  registration.bgid = group;
  if (const int err = io_uring_register_buf_ring(ring_.get(), &registration, 0); err < 0) {
    ::munmap(mapping_, mapped_);
    if (err == -EINVAL) {  // what a kernel without them says of an unknown registration
      throw std::runtime_error(std::string("io_uring_register_buf_ring: ") + std::strerror(-err) +
                               " (buffer rings need Linux 5.19)");
    }
    throw_errno("io_uring_register_buf_ring", -err);
  }
  io_uring_buf_ring_init(buffer_ring_);
  const int mask = io_uring_buf_ring_mask(entries_);
  for (unsigned id = 0; id < count; ++id) {
    io_uring_buf_ring_add(buffer_ring_, buffers_ + std::size_t{id} * size,
                          static_cast<unsigned>(size), static_cast<unsigned short>(id), mask,
                          static_cast<int>(id));
  }
  io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(count));
}

BufferRing::~BufferRing() {
  COMMON_ASSERT(ring_.in_flight() == 0,
                "buffer ring torn down with operations in flight: the kernel may still pick and "
                "write into its buffers");
  if (const int err = io_uring_unregister_buf_ring(ring_.get(), group_); err < 0) {
    log_errno("io_uring_unregister_buf_ring", -err);
  }
  if (::munmap(mapping_, mapped_) != 0) log_errno("munmap");
}

std::span<const char> BufferRing::bytes(const io_uring_cqe& cqe) const {
  if ((cqe.flags & IORING_CQE_F_BUFFER) == 0 || cqe.res <= 0) return {};
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  const auto length = static_cast<std::size_t>(cqe.res);
  COMMON_ASSERT(id < count_ && length <= size_, "a completion names a buffer the ring lacks");
  return {buffers_ + std::size_t{id} * size_, length};
}

void BufferRing::give_back(const io_uring_cqe& cqe) {
  if ((cqe.flags & IORING_CQE_F_BUFFER) == 0) return;
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  COMMON_ASSERT(id < count_, "a completion names a buffer the ring lacks");
  io_uring_buf_ring_add(buffer_ring_, buffers_ + std::size_t{id} * size_,
                        static_cast<unsigned>(size_), static_cast<unsigned short>(id),
                        io_uring_buf_ring_mask(entries_), 0);
  io_uring_buf_ring_advance(buffer_ring_, 1);
}

}  // namespace common
