// Fuzzes common::LineProtocol, the state machine behind every hand-buffered stage, against the
// plain model in tests/reference/protocol_reference.hpp.
//
// Why fuzz it: the unit tests check the cases we thought of. The protocol's bugs hide in the ones
// we did not: a line that reaches kMaxLine in the middle of a read, an LF right on that boundary,
// answers piling up while the client does not read, end of input with a partial line pending.
// libFuzzer invents inputs, keeps those that reach new code and mutates them again; the
// sanitizers (ASan, UBSan) turn a silent memory error into a crash; and the model turns a wrong
// answer into a crash too. Each crash leaves behind the input that caused it, to replay it.
//
// How an input is read: it is one whole conversation. Its first 8 bytes seed a small PRNG that
// plays the network and the client: how the stream is cut into reads (1 to 40000 bytes), how many
// pending answer bytes the client reads after each read, and whether the client ends its input
// at the end. The remaining bytes are the stream. (An input shorter than 8 bytes is all stream,
// with seed 0.)
//
// What is checked, in every build type (a failed check says why and aborts):
//   1. The answers: each byte the client reads equals reference::answer(stream, ended) at the
//      same offset, and nothing is missing at the end, however the stream and the answers were
//      cut (rules 1 to 4 of docs/protocol.md).
//   2. Promptness: after each read, exactly the lines that have ended are answered; the partial
//      line waits for its LF, for kMaxLine bytes or for the end of input (rules 2 and 3).
//   3. The bound: like every stage, we feed the protocol only while wants_read(), so it owes less
//      than kMaxPendingOutput before a read; one read then adds at most the partial line it
//      completes, the bytes read and one LF per line that kMaxLine ended (rule 5).
//   4. The end: once the input has ended and the client has read everything, finished() is true;
//      if the input never ends, it never is.
//   5. Stability: the bytes of pending_output() stay where they are while input arrives, as a
//      send in flight needs (08b sends from them through io_uring); ASan catches a read of
//      moved-out storage too.
//   6. Input it did not ask for: a conversation whose seed has its two top bits set plays a
//      network that delivers reads of at most kMaxLine bytes even while the protocol does not
//      want input, as io_uring's multishot receive does (08b). That input must wait unanswered,
//      so that what is owed never passes kMaxPendingOutput + 2 * kMaxLine, and be answered in
//      order once the client reads (check 2 is left out then: lines wait unanswered).
//
// Build and run it with scripts/fuzz; tests/fuzz/README.md has the details.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "common/line_protocol.hpp"
#include "tests/reference/protocol_reference.hpp"

namespace {

using common::kMaxLine;
using common::kMaxPendingOutput;

// The largest read the simulated network delivers: over two lines, so one read can end several.
constexpr std::size_t kMaxRead = 40000;

// A failed check is a bug in LineProtocol (or in the model). assert() would vanish under NDEBUG,
// so check in every build; libFuzzer reports the abort as a crash and saves the input.
void check(bool ok, const char* what) {
  if (ok) return;
  (void)std::fprintf(stderr, "protocol_fuzzer: %s\n", what);  // aborting anyway: nothing to check
  std::abort();
}

// splitmix64: a few lines, fast, and every output bit depends on every seed bit, so each small
// change libFuzzer makes to the seed bytes gives a different conversation.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

  // A number in [0, n), n > 0. The slight bias of % does not matter here.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

// The size of the next read, from 1 to kMaxRead bytes. The limit is a power of two picked
// uniformly, so reads of a byte, of a few bytes and of whole lines are all frequent.
std::size_t read_size(Rng& rng) {
  const std::size_t limit = std::min(kMaxRead, std::size_t{1} << rng.below(17));
  return 1 + rng.below(limit);
}

// How the simulated client reads its answers; one kind per conversation. kStalled reads only
// when it must, so the protocol reaches its bound and stops reading (backpressure).
enum class Reader { kEager, kRandom, kTrickle, kStalled };
constexpr std::size_t kReaderKinds = 4;

// How many of the `pending` answer bytes (pending_output(), the first `owed` bytes owed) the
// client reads now. `must_progress`: nothing else can happen until the client reads (the
// protocol stopped reading, or the stream is over).
std::size_t bytes_to_read(Reader reader, Rng& rng, std::size_t pending, std::size_t owed,
                          bool must_progress) {
  std::size_t n = 0;
  switch (reader) {
    case Reader::kEager:
      n = pending;
      break;
    case Reader::kRandom:
      n = rng.below(pending + 1);
      break;
    case Reader::kTrickle:
      n = rng.below(std::min<std::size_t>(pending, 64) + 1);
      break;
    case Reader::kStalled:
      // Reads only when it must, and then as little as it can: first down to exactly the bound,
      // where the protocol must still refuse input, then a little more so that it resumes.
      if (!must_progress) {
        n = 0;
      } else if (owed > kMaxPendingOutput) {
        n = std::min(pending, owed - kMaxPendingOutput);
      } else if (pending > 0) {
        n = 1 + rng.below(std::min(pending, kMaxLine));
      }
      break;
  }
  if (must_progress && n == 0 && pending > 0) n = 1;
  return n;
}

// Checks the answer bytes `got`, which the client read at `offset` of the conversation, against
// the model's answers `want`; on the first difference, says where it is and aborts.
void check_answers(std::span<const char> got, std::string_view want, std::size_t offset) {
  const std::string_view expected = want.substr(std::min(offset, want.size()), got.size());
  const auto [g, w] = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
  if (g == got.end()) return;
  const std::size_t at = offset + static_cast<std::size_t>(g - got.begin());
  if (w == expected.end()) {
    (void)std::fprintf(stderr,
                       "protocol_fuzzer: answers go on past the %zu bytes of reference::answer(): "
                       "byte 0x%02x at offset %zu\n",
                       want.size(), static_cast<unsigned char>(*g), at);
  } else {
    (void)std::fprintf(stderr,
                       "protocol_fuzzer: answers differ from reference::answer() at offset %zu: "
                       "got byte 0x%02x, expected 0x%02x\n",
                       at, static_cast<unsigned char>(*g), static_cast<unsigned char>(*w));
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  std::uint64_t seed = 0;
  if (size >= 8) {
    for (std::size_t i = 0; i < 8; ++i) {
      seed = seed << 8 | data[i];
    }
    stream.remove_prefix(8);
  }
  Rng rng(seed);
  const bool ends = rng.below(2) == 0;
  const auto reader = static_cast<Reader>(rng.below(kReaderKinds));
  const bool pushy =
      seed >> 62 == 3;  // check 6; from the seed, so that the draws stay as they were

  // Answers arrive in order, so every byte the client reads is checked at once against the
  // model's answer at the same offset: a wrong byte is caught where it appears, not at the end.
  const std::string want = reference::answer(stream, ends);
  common::LineProtocol protocol;
  std::size_t received = 0;  // answer bytes the client has read
  auto client_reads = [&](bool must_progress) {
    const auto pending = protocol.pending_output();
    const std::size_t n =
        bytes_to_read(reader, rng, pending.size(), protocol.owed(), must_progress);
    check_answers(pending.first(n), want, received);
    received += n;
    protocol.on_output_sent(n);  // which answers input that waited, if any
    check(!pushy || protocol.owed() <= kMaxPendingOutput + 2 * kMaxLine,
          "input that waited made the answers owed pass the bound");
  };

  // The network delivers the stream only while the protocol wants input, as in every stage
  // that asks for each read (and, pushy, now and then while it does not); while it does not,
  // nothing moves until the client reads.
  std::size_t fed = 0;
  std::size_t line_start = 0;  // where the model's current partial line starts in the stream
  std::size_t answered = 0;    // the model's answer bytes for stream[0, line_start)
  for (;;) {
    const bool unasked = pushy && rng.below(8) != 0;
    if (!protocol.wants_read() && !unasked) {
      client_reads(true);
      continue;
    }
    if (fed == stream.size()) break;
    const std::size_t owed_before = protocol.owed();
    // As if a send of pending_output() were in flight: its bytes must stay put (check 5).
    const auto in_flight = protocol.pending_output();
    const std::string in_flight_bytes(in_flight.begin(), in_flight.end());
    check(owed_before < kMaxPendingOutput || !protocol.wants_read(),
          "wants_read() while owing kMaxPendingOutput");
    const std::size_t n =
        std::min(pushy ? std::min(read_size(rng), kMaxLine) : read_size(rng), stream.size() - fed);
    protocol.on_input(stream.substr(fed, n));
    fed += n;

    // Every input byte becomes one answer byte (an LF stays an LF), and a line that kMaxLine
    // ends gains an LF. The partial line carried into this read (under kMaxLine bytes) was
    // not owed before it; now it may be.
    check(std::string_view(in_flight.data(), in_flight.size()) == in_flight_bytes &&
              (in_flight.empty() || protocol.pending_output().data() == in_flight.data()),
          "on_input() moved the bytes of pending_output(), under a send in flight");
    const std::size_t owed = protocol.owed();
    const std::size_t lines_ended_by_length = (kMaxLine - 1 + n) / kMaxLine;
    check(owed <= owed_before + (kMaxLine - 1) + n + lines_ended_by_length,
          "one read added more answers than a partial line, the bytes read and their LFs");

    // Exactly the lines that have ended are answered, no more and no less. The model starts
    // afresh at a line start, so asking it about the partial line and the new bytes is enough.
    const std::string_view since_line_start = stream.substr(line_start, fed - line_start);
    const std::size_t complete = reference::answer(since_line_start, false).size();
    const std::size_t partial = reference::answer(since_line_start, true).size() - complete;
    answered += complete;
    line_start = fed - partial;
    check(pushy || received + owed == answered,
          "the answers owed are not exactly those of the lines that have ended");
    client_reads(false);
  }

  // The end of input arrives as a read too (recv() returns 0), so only while wants_read(), or
  // unasked, behind input still waiting.
  if (ends) protocol.on_end_of_input();
  while (protocol.wants_write()) {
    client_reads(true);
  }
  check(protocol.finished() == ends, "finished() does not match whether the input ended");
  check(protocol.wants_read() != ends, "wants_read() after end of input, or not without it");
  if (received != want.size()) {
    (void)std::fprintf(stderr, "protocol_fuzzer: answers stop after %zu bytes, expected %zu\n",
                       received, want.size());
    std::abort();
  }
  return 0;
}
