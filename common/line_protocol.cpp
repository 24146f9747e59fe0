#include "common/line_protocol.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/rot13.hpp"

namespace common {
namespace {

// A broken invariant is a bug in the calling stage: stop loudly, in every build type.
[[noreturn]] void contract_violation(const char* what) {
  (void)std::fprintf(stderr, "LineProtocol: %s\n", what);  // aborting anyway: nothing to check
  std::abort();
}

}  // namespace

void LineProtocol::on_input(std::span<const char> bytes) {
  if (input_ended_) contract_violation("on_input() after on_end_of_input()");
  while (!bytes.empty()) {
    const std::size_t line_used = buffer_.size() - committed_;
    const std::size_t take = std::min(kMaxLine - line_used, bytes.size());
    const void* lf = std::memchr(bytes.data(), '\n', take);
    const std::size_t n =
        lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data()) : take;
    const std::size_t old_size = buffer_.size();
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    rot13_inplace(std::span<char>(buffer_).subspan(old_size));
    bytes = bytes.subspan(lf ? n + 1 : n);  // the LF itself is consumed, not copied
    if (lf || line_used + n == kMaxLine) end_line();
  }
}

void LineProtocol::end_line() {
  buffer_.push_back('\n');
  committed_ = buffer_.size();
}

void LineProtocol::on_end_of_input() {
  committed_ = buffer_.size();  // the partial line is owed as it is, without an LF
  input_ended_ = true;
}

void LineProtocol::on_output_sent(std::size_t n) {
  if (n > committed_ - sent_) contract_violation("on_output_sent() beyond pending_output()");
  sent_ += n;
  // Drop the sent prefix once it is at least as large as what is still live: each byte is moved
  // at most once on average, and the buffer stays within twice the live data.
  if (sent_ >= buffer_.size() - sent_) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(sent_));
    committed_ -= sent_;
    sent_ = 0;
  }
}

}  // namespace common
