/// @file
/// @brief The ROT13 line protocol of docs/protocol.md as a sans-IO state machine.
///
/// "Sans-IO" means the class never touches a socket: a stage feeds it the bytes it received and
/// asks it which bytes to send. That keeps every rule of the protocol (where a line ends, what
/// end of input means, how much output may pile up) in one place that the unit tests can check
/// byte by byte, while each stage's main.cpp shows only *when* it reads and writes: its IO model.
#pragma once

#include <cstddef>
#include <list>
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
///
/// A stage whose receives and sends the kernel performs on its own (08b, with io_uring's
/// multishot receive) may be given input it did not ask for, and sends while more arrives: input
/// given past the bound waits, unanswered, until the client has read; and the bytes of
/// pending_output() stay where they are until on_output_sent(), so they need no copy of their own.
class LineProtocol {
 public:
  /// @brief Takes bytes received from the client; every line they complete is answered at once,
  /// while wants_read(). Past that (given while !wants_read()), the bytes wait unanswered, in
  /// order, each call's on its own, and are answered one call's worth at a time as
  /// on_output_sent() brings what is owed below kMaxPendingOutput: give it reads of at most
  /// kMaxLine bytes, and the bound of rule 5 holds all the same.
  /// @param bytes the received bytes, split anywhere: the answers never depend on the split.
  void on_input(std::span<const char> bytes);

  /// @brief The client will send nothing more: the pending partial line (if any) is answered,
  /// without an added LF, once any input still waiting has been. Calling it again does nothing.
  void on_end_of_input();

  /// @brief The next answers to send, oldest first: all of owed(), or, when the buffer had to
  /// grow while answers were owed, the older ones (send them, then ask again for the rest).
  ///
  /// The bytes stay where they are until the next on_output_sent(): on_input() and
  /// on_end_of_input() never move them (a send in flight may be reading them). The span itself
  /// is valid until the next call of a non-const member function.
  [[nodiscard]] std::span<const char> pending_output() const noexcept {
    if (!older_.empty()) return std::span<const char>(older_).subspan(older_sent_);
    return {buffer_.data() + sent_, committed_ - sent_};
  }

  /// @brief Marks the first @p n bytes of pending_output() as sent; then answers input that was
  /// waiting (see on_input()), while less than kMaxPendingOutput is owed.
  /// @param n at most pending_output().size(); more is a bug in the caller and aborts.
  void on_output_sent(std::size_t n);

  /// @brief How many answer bytes are owed in all: pending_output() and any answers after it.
  [[nodiscard]] std::size_t owed() const noexcept {
    return older_.size() - older_sent_ + committed_ - sent_;
  }

  /// @brief True while the client may still send, we owe it less than kMaxPendingOutput, and
  /// no input is waiting.
  [[nodiscard]] bool wants_read() const noexcept {
    return !input_ended_ && unread_.empty() && owed() < kMaxPendingOutput;
  }

  /// @brief True while there are answers to send.
  [[nodiscard]] bool wants_write() const noexcept { return owed() > 0; }

  /// @brief True once input has ended and everything owed has been sent: time to close.
  [[nodiscard]] bool finished() const noexcept {
    return input_ended_ && unread_.empty() && !wants_write();
  }

 private:
  // One buffer, three regions: [0, sent_) already sent; [sent_, committed_) answers waiting to be
  // sent; [committed_, size()) the current partial line, already ROT13'd, waiting for its end.
  std::vector<char> buffer_;
  std::size_t sent_ = 0;
  std::size_t committed_ = 0;
  // Answers owed before buffer_ last had to grow, [older_sent_, size()) still to send: buffer_'s
  // old storage, kept where it is (see make_room()). Empty when there are none.
  std::vector<char> older_;
  std::size_t older_sent_ = 0;
  // Input given past the bound, each call's bytes apart, oldest first: none for a stage that
  // reads only while wants_read().
  std::list<std::vector<char>> unread_;
  bool input_ended_ = false;

  void answer(std::span<const char> bytes);
  void take_unread();
  void make_room(std::size_t n);
  void end_line();
};

}  // namespace common
