/// @file
/// @brief The ROT13 line protocol of docs/protocol.md as a sans-IO state machine.
///
/// "Sans-IO" means the class never touches a socket: a stage feeds it the bytes it received and
/// asks it which bytes to send. That keeps every rule of the protocol (where a line ends, what
/// end of input means, how much output may pile up) in one place that the unit tests can check
/// byte by byte, while each stage's main.cpp shows only *when* it reads and writes: its IO model.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace common {

/// @brief A line ends at LF or once this many bytes are pending without one (the book's MAX_LINE).
inline constexpr std::size_t kMaxLine = 16384;

/// @brief A connection stops reading while it owes the client this much output or more.
///
/// A read is allowed while less than this is owed, and one read of up to kMaxLine bytes can
/// complete a partial line of up to kMaxLine - 1 bytes: a server therefore owes at most
/// kMaxPendingOutput + 2 * kMaxLine bytes per connection, about 96 KiB (rule 5 of
/// docs/protocol.md; the fuzzer in tests/fuzz checks the exact bound).
inline constexpr std::size_t kMaxPendingOutput = std::size_t{64} * 1024;

/// @brief One connection's side of the protocol: bytes in, answers out, no sockets.
///
/// Typical use by a stage, whatever its IO model:
/// @code
///   if (protocol.wants_read())  { n = recv(fd, buf, ...); n > 0 ? protocol.on_input({buf, n})
///                                                               : protocol.on_end_of_input(); }
///   if (protocol.wants_write()) { n = send(fd, protocol.pending_output()...);
///                                 protocol.on_output_sent(n); }
///   if (protocol.finished())    { close(fd); }
/// @endcode
class LineProtocol {
 public:
  /// @brief Takes bytes received from the client; every line they complete is answered at once.
  /// @param bytes the received bytes, split anywhere: the answers never depend on the split.
  void on_input(std::span<const char> bytes);

  /// @brief The client will send nothing more: the pending partial line (if any) is answered,
  /// without an added LF. Calling it again does nothing.
  void on_end_of_input();

  /// @brief The answers not yet sent, oldest first. Valid until the next call of a non-const
  /// member function.
  [[nodiscard]] std::span<const char> pending_output() const noexcept {
    return {buffer_.data() + sent_, committed_ - sent_};
  }

  /// @brief Marks the first @p n bytes of pending_output() as sent.
  /// @param n at most pending_output().size(); more is a bug in the caller and aborts.
  void on_output_sent(std::size_t n);

  /// @brief True while the client may still send and we owe it less than kMaxPendingOutput.
  [[nodiscard]] bool wants_read() const noexcept {
    return !input_ended_ && committed_ - sent_ < kMaxPendingOutput;
  }

  /// @brief True while there are answers to send.
  [[nodiscard]] bool wants_write() const noexcept { return committed_ > sent_; }

  /// @brief True once input has ended and everything owed has been sent: time to close.
  [[nodiscard]] bool finished() const noexcept { return input_ended_ && !wants_write(); }

 private:
  // One buffer, three regions: [0, sent_) already sent; [sent_, committed_) answers waiting to be
  // sent; [committed_, size()) the current partial line, already ROT13'd, waiting for its end.
  std::vector<char> buffer_;
  std::size_t sent_ = 0;
  std::size_t committed_ = 0;
  bool input_ended_ = false;

  void end_line();
};

}  // namespace common
