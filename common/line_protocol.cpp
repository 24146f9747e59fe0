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
  if (bytes.empty()) return;
  if (!wants_read()) {  // past the bound: it waits (take_unread())
    unread_.emplace_back(bytes.begin(), bytes.end());
    return;
  }
  answer(bytes);
}

// Answers every line the bytes complete, and keeps the rest as the partial line.
void LineProtocol::answer(std::span<const char> bytes) {
  while (!bytes.empty()) {
    const std::size_t line_used = buffer_.size() - committed_;
    const std::size_t take = std::min(kMaxLine - line_used, bytes.size());
    const void* lf = std::memchr(bytes.data(), '\n', take);
    const std::size_t n =
        lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data()) : take;
    make_room(n + 1);  // the bytes, and maybe the LF that ends their line
    const std::size_t old_size = buffer_.size();
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    rot13_inplace(std::span<char>(buffer_).subspan(old_size));
    bytes = bytes.subspan(lf ? n + 1 : n);  // the LF itself is consumed, not copied
    if (lf || line_used + n == kMaxLine) end_line();
  }
}

// Growing buffer_ moves its bytes, and a send in flight may be reading the answers among them.
// So when it must grow while it holds answers that pending_output() returns, those stay where
// they are: buffer_'s storage becomes older_, sent from until it is done, and buffer_ starts
// anew with the partial line, the only bytes copied (fewer than kMaxLine, and not yet owed).
void LineProtocol::make_room(std::size_t n) {
  if (buffer_.size() + n <= buffer_.capacity() || committed_ == sent_ || !older_.empty()) return;
  std::vector<char> fresh;
  fresh.reserve(buffer_.capacity() - sent_ + n);
  fresh.assign(buffer_.begin() + static_cast<std::ptrdiff_t>(committed_), buffer_.end());
  buffer_.resize(committed_);  // shrinking never moves
  older_ = std::move(buffer_);
  older_sent_ = sent_;
  buffer_ = std::move(fresh);
  sent_ = committed_ = 0;
}

void LineProtocol::end_line() {
  buffer_.push_back('\n');
  committed_ = buffer_.size();
}

void LineProtocol::on_end_of_input() {
  input_ended_ = true;
  if (unread_.empty()) committed_ = buffer_.size();  // the partial line is owed as it is
}

// Answers the input that waited, one call's worth at a time while less than the bound is owed,
// as a stage that reads only while wants_read() would have given it; then the end of input.
void LineProtocol::take_unread() {
  while (!unread_.empty() && owed() < kMaxPendingOutput) {
    answer(unread_.front());
    unread_.pop_front();
  }
  if (unread_.empty() && input_ended_) committed_ = buffer_.size();
}

void LineProtocol::on_output_sent(std::size_t n) {
  if (n > pending_output().size()) contract_violation("on_output_sent() beyond pending_output()");
  if (!older_.empty()) {
    older_sent_ += n;
    if (older_sent_ == older_.size()) {
      older_ = {};  // all sent: the answers after them are next
      older_sent_ = 0;
    }
  } else {
    sent_ += n;
    // Drop the sent prefix once it is at least as large as what is still live: each byte is
    // moved at most once on average, and the buffer stays within twice the live data.
    if (sent_ >= buffer_.size() - sent_) {
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(sent_));
      committed_ -= sent_;
      sent_ = 0;
    }
  }
  if (!unread_.empty()) take_unread();
}

}  // namespace common
